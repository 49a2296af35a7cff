/* PLACEHOLDER until the classification module lands (issue 3). */
#include "daemon/cli_rules.h"

#include <stdio.h>

int wc_cli_classify(int argc, char **argv)
{
    fprintf(stderr, "webcared classify: not available yet\n");
    return 1;
}

int wc_cli_check_rules(int argc, char **argv)
{
    fprintf(stderr, "webcared check-rules: not available yet\n");
    return 1;
}
