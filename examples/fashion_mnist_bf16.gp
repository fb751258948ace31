# fashion_mnist_bf16.gp - the demo's three runs of make demo-bf16 in one PNG: fp32 parameters,
# bf16 rounded to nearest, bf16 rounded stochastically (test loss and test accuracy per epoch).
#   gnuplot -e "f32='a.csv'; nearest='b.csv'; stochastic='c.csv'; png='out.png'" examples/fashion_mnist_bf16.gp
set datafile separator ','
set terminal pngcairo size 1000,420 font ',10'
set output png
set multiplot layout 1,2 title 'Fashion-MNIST MLP, AdamW: fp32 parameters against bf16 (nearest, stochastic rounding)'
set xlabel 'epoch'
set grid
set key top right

set title 'test loss'
set ylabel 'cross-entropy'
plot f32 using 1:4 with linespoints lw 2 pt 7 ps 0.6 lc 1 title 'fp32', \
     nearest using 1:4 with linespoints lw 2 pt 5 ps 0.6 lc 2 title 'bf16, nearest', \
     stochastic using 1:4 with linespoints lw 2 pt 9 ps 0.6 lc 3 title 'bf16, stochastic'

set title 'test accuracy'
set ylabel 'accuracy'
set key bottom right
plot f32 using 1:5 with linespoints lw 2 pt 7 ps 0.6 lc 1 title 'fp32', \
     nearest using 1:5 with linespoints lw 2 pt 5 ps 0.6 lc 2 title 'bf16, nearest', \
     stochastic using 1:5 with linespoints lw 2 pt 9 ps 0.6 lc 3 title 'bf16, stochastic'
unset multiplot
