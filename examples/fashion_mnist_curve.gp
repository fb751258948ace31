# fashion_mnist_curve.gp - plot the demo's learning curve (make demo calls this).
#   gnuplot -e "csv='curve.csv'; png='curve.png'" examples/fashion_mnist_curve.gp
# Optionally torch='torch_curve.csv' (the PyTorch twin's CSV) adds its curve, dashed.
if (!exists("torch")) torch = ''
set datafile separator ','
set terminal pngcairo size 1000,420 font ',10'
set output png
set multiplot layout 1,2 title 'Fashion-MNIST MLP: trainopt + OpenBLAS' . (torch ne '' ? ' (solid) and PyTorch (dashed)' : '')
set xlabel 'epoch'
set grid

set title 'loss'
set ylabel 'cross-entropy'
set key top right
if (torch ne '') {
    plot csv using 1:3 with linespoints lw 2 pt 7 ps 0.6 lc 1 title 'train (label-smoothed)', \
         csv using 1:4 with linespoints lw 2 pt 7 ps 0.6 lc 2 title 'test', \
         torch using 1:3 with lines dt 2 lw 2 lc 1 notitle, \
         torch using 1:4 with lines dt 2 lw 2 lc 2 notitle
} else {
    plot csv using 1:3 with linespoints lw 2 pt 7 ps 0.6 lc 1 title 'train (label-smoothed)', \
         csv using 1:4 with linespoints lw 2 pt 7 ps 0.6 lc 2 title 'test'
}

set title 'test accuracy'
set ylabel 'accuracy'
set key bottom right
if (torch ne '') {
    plot csv using 1:5 with linespoints lw 2 pt 7 ps 0.6 lc 3 title 'trainopt', \
         torch using 1:5 with lines dt 2 lw 2 lc 4 title 'PyTorch'
} else {
    plot csv using 1:5 with linespoints lw 2 pt 7 ps 0.6 lc 3 title 'trainopt'
}
unset multiplot
