# tools/plot_schedules.gp - draws the CSV of examples/lr_schedules.c (make plot-schedules).
#   gnuplot -e "csv='build/lr_schedules.csv'; png='build/lr_schedules.png'" tools/plot_schedules.gp
# The first column is the step, every other column a schedule named in the header.
if (!exists("csv")) csv = 'build/lr_schedules.csv'
if (!exists("png")) png = 'build/lr_schedules.png'
set terminal pngcairo size 1000,600 noenhanced font 'sans,11'  # noenhanced: '_' in names stays '_'
set output png
set datafile separator ','
stats csv skip 1 nooutput
set title 'Learning-rate schedules (trainopt: PyTorch 1.13 / optax semantics)'
set xlabel 'step'
set ylabel 'learning rate'
set grid
set key top right box opaque autotitle columnhead
set yrange [0:*]
plot for [i=2:STATS_columns] csv using 1:i with lines linewidth 2
