/* PLACEHOLDER until the classification module lands (issue 3): owned by the
 * classification module, to be replaced wholesale. */
#ifndef WC_CLI_RULES_H
#define WC_CLI_RULES_H
int wc_cli_classify(int argc, char **argv);
int wc_cli_check_rules(int argc, char **argv);
#endif
