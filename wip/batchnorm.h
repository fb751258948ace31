/* wip/batchnorm.h - fragment of trainopt.h under development; merged into trainopt.h before the session ends. */
