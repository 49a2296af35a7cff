/*
 * cli_rules.h - the rule-engine subcommands of webcared (no Kafka, no Redis).
 *
 *   webcared classify [--rules DIR] [--now TIME] [--explain] [FILE...]
 *       Dry run: one mention JSON document per line (stdin or FILEs) -> one
 *       case JSON per line on stdout, the same document the daemon emits
 *       (pipeline/emit.c). A line that does not decode yields
 *       {"event":"rejected","line":N,"reason":...,"detail":...} so output
 *       line N always belongs to input line N. Exit 0, or 1 if any line was
 *       rejected, 2 on usage or rule errors.
 *   webcared check-rules [DIR]
 *       Loads and compiles DIR (default: the built-in rules directory) and
 *       prints every error/warning as "file:line: message" on stderr, then a
 *       summary on stdout. Exit 0 if the rules load, 1 otherwise.
 *
 * Both take argv with argv[0] = the subcommand name. @locality main thread
 */
#ifndef WC_CLI_RULES_H
#define WC_CLI_RULES_H

int wc_cli_classify(int argc, char **argv);
int wc_cli_check_rules(int argc, char **argv);

#endif
