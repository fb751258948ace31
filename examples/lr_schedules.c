/* examples/lr_schedules.c - learning-rate schedules side by side, as CSV.

   Prints one row per step and one column per schedule: by default the figure
   every tutorial draws, exponential decay against cosine annealing, plus linear
   warmup then cosine decay (optax) and one-cycle (PyTorch OneCycleLR).
   Schedules are given as the text trainopt_schedule_parse_join reads, which is
   how a training program takes its schedule from a config file:

       lr_schedules                          the four default schedules, 300 steps
       lr_schedules 1000 "step:lr=0.1,step_size=300,gamma=0.5" \
                         "linear:lr=0.1,start_factor=0.01,total_iters=50 @50 cosine:lr=0.1,t_max=950"

   make plot-schedules turns the default output into build/lr_schedules.png. */
#include <stdio.h>
#include <stdlib.h>

/* The one file of this program that compiles trainopt's kernels (README.md, "Use"). */
#define TRAINOPT_IMPLEMENTATION
#include "trainopt.h"

#define MAX_COLUMNS 16
#define MAX_PARTS 8

int main(int argc, char **argv) {
    static const char *const defaults[] = {
        "exponential:lr=0.1,gamma=0.99",
        "cosine:lr=0.1,t_max=300",
        "warmup_cosine:lr=0.1,warmup_steps=30,decay_steps=300",
        "onecycle:lr=0.1,total_steps=300",
    };
    trainopt_schedule sched[MAX_COLUMNS], parts[MAX_COLUMNS][MAX_PARTS];
    const char *const *specs = defaults;
    int count = 4, steps = 300, c;
    int64_t t;

    if (argc > 1) {
        steps = atoi(argv[1]);
        if (steps < 1) {
            fprintf(stderr, "usage: %s [steps [schedule...]]\n", argv[0]);
            return 2;
        }
    }
    if (argc > 2) {
        specs = (const char *const *)(argv + 2);
        count = argc - 2 > MAX_COLUMNS ? MAX_COLUMNS : argc - 2;
    }
    for (c = 0; c < count; c++) {
        char msg[256];
        if (trainopt_schedule_parse_join(specs[c], &sched[c], parts[c], MAX_PARTS, msg, sizeof msg) != TRAINOPT_OK) {
            fprintf(stderr, "%s: %s\n", specs[c], msg);
            return 1;
        }
        if (sched[c].lr != sched[c].lr) sched[c].lr = 0.1; /* lr left out: a program would use its optimizer's */
    }

    printf("step");
    for (c = 0; c < count; c++) printf(",%s", trainopt_schedule_kind_name(sched[c].kind));
    printf("\n");
    for (t = 0; t < steps; t++) {
        printf("%lld", (long long)t);
        for (c = 0; c < count; c++) printf(",%.10g", trainopt_schedule_lr(&sched[c], t));
        printf("\n");
    }
    return 0;
}
