# tools/plot_optimizers.gp - draws the CSV of examples/compare_optimizers.c (make plot-optimizers).
#   gnuplot -e "csv='build/optimizers.csv'; png='build/optimizers.png'" tools/plot_optimizers.gp
# Columns: optimizer, problem, step, epoch, loss, test_acc. One panel per problem, the loss on a
# log scale against the step; one curve per optimizer (the names in the CSV's order); one legend
# for both, to the right, with each optimizer's final Fashion-MNIST test accuracy.
if (!exists("csv")) csv = 'build/optimizers.csv'
if (!exists("png")) png = 'build/optimizers.png'
names = system("tail -n +2 '" . csv . "' | cut -d, -f1 | uniq | tr '\\n' ' '")
n = words(names)
# the last test accuracy each optimizer printed on Fashion-MNIST ('' if it did not run)
acc(name) = system("awk -F, '$1 == \"" . name . "\" && $2 == \"fashion_mnist\" && $6 != \"\" { a = $6 } END { printf \"%s\", a }' '" . csv . "'")
label(name) = (acc(name) ne '' ? sprintf('%-10s test acc %s', name, acc(name)) : name)
# 14 curves: 7 colors, solid for the first seven and dashed for the rest
color(i) = word("#1f77b4 #d62728 #2ca02c #ff7f0e #9467bd #8c564b #17becf", (i - 1) % 7 + 1)
dash(i) = (i <= 7 ? 1 : 2)
pick(name, problem) = (strcol(1) eq name && strcol(2) eq problem)

set terminal pngcairo size 1500,620 noenhanced font 'sans,11'  # noenhanced: '_' stays '_'
set output png
set datafile separator ','
set logscale y
set grid xtics ytics mytics
set xlabel 'optimizer step'
set autoscale xfix   # the x axis ends at the last step
set multiplot title 'trainopt: every optimizer, defaults but the learning rate (examples/compare_optimizers.c)'

set title 'linear regression (minibatches of 32): full-data MSE'
set ylabel 'mean squared error (log scale)'
set yrange [0.008:*]   # below the noise floor (about 0.0105), so curves that reach it stay visible
set lmargin at screen 0.06
set rmargin at screen 0.39
set tmargin at screen 0.88
set bmargin at screen 0.10
unset key
plot for [i=1:n] csv skip 1 using (pick(word(names, i), 'linear_regression') ? $3 : NaN):5 \
     with lines lw 2 lc rgb color(i) dt dash(i) notitle

set title 'Fashion-MNIST MLP (minibatches of 128): training loss, mean since the last point'
set ylabel 'cross-entropy (log scale)'
set yrange [*:*]
set autoscale yfix   # from the lowest to the highest loss: the curves are close together
set ytics (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1, 1.5, 2, 3, 5)   # labels within one decade
set lmargin at screen 0.45
set rmargin at screen 0.78
set key at screen 0.995, screen 0.88 top right Left reverse box opaque samplen 3 spacing 1.1 font 'monospace,10'
plot for [i=1:n] csv skip 1 using (pick(word(names, i), 'fashion_mnist') ? $3 : NaN):5 \
     with lines lw 2 lc rgb color(i) dt dash(i) title label(word(names, i))
unset multiplot
