/*
 * main.c - command line: parse flags, load config, dispatch subcommands.
 *
 *   webcared [run] [--config FILE] [--brokers LIST] [--redis HOST:PORT]
 *                  [--http-port N] [--workers N] [-o key=value]...
 *   webcared classify [--rules DIR]        (dry run: stdin JSON lines -> cases)
 *   webcared check-rules DIR               (validate rule files)
 *   webcared --dump-config-doc | --print-config | --version | --help
 */
#include "daemon/app.h"
#include "daemon/cli_rules.h"
#include "daemon/config.h"
#include "pipeline/log.h"
#include "wc_version.h"

#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: webcared [run] [options]\n"
            "       webcared classify [--rules DIR]   classify JSON lines from stdin (dry run)\n"
            "       webcared check-rules DIR          validate rule files\n"
            "\n"
            "options:\n"
            "  -c, --config FILE       config file (key = value lines; docs/CONFIGURATION.md)\n"
            "  -b, --brokers LIST      Kafka bootstrap servers (kafka.brokers)\n"
            "  -r, --redis HOST:PORT   Redis server (redis.addr)\n"
            "  -p, --http-port N       HTTP port for /metrics /livez /readyz (http.port)\n"
            "  -w, --workers N         worker threads, 0 = one per core (workers)\n"
            "  -o, --set KEY=VALUE     set any config key (repeatable, applied last)\n"
            "      --print-config      print the effective configuration (secrets masked) and exit\n"
            "      --check-config      validate the configuration and exit\n"
            "      --dump-config-doc   print the configuration reference (Markdown) and exit\n"
            "  -V, --version           print version and exit\n"
            "  -h, --help              this help\n"
            "\n"
            "Signals: SIGTERM/SIGINT drain and exit, SIGHUP reloads config and rules.\n");
}

static int run_daemon(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},  {"brokers", required_argument, NULL, 'b'},
        {"redis", required_argument, NULL, 'r'},   {"http-port", required_argument, NULL, 'p'},
        {"workers", required_argument, NULL, 'w'}, {"set", required_argument, NULL, 'o'},
        {"version", no_argument, NULL, 'V'},       {"help", no_argument, NULL, 'h'},
        {"print-config", no_argument, NULL, 1},    {"dump-config-doc", no_argument, NULL, 2},
        {"check-config", no_argument, NULL, 3},    {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    struct {
        const char *key;
        const char *value;
        char origin[64];
    } sets[128];
    int nsets = 0, opt, print_config = 0, check_config = 0;
    char errstr[1024];

    while ((opt = getopt_long(argc, argv, "c:b:r:p:w:o:Vh", opts, NULL)) != -1) {
        const char *key = NULL;
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'b': key = "kafka.brokers"; break;
        case 'r': key = "redis.addr"; break;
        case 'p': key = "http.port"; break;
        case 'w': key = "workers"; break;
        case 'o': {
            char *eq = strchr(optarg, '=');
            if (!eq) {
                fprintf(stderr, "webcared: -o expects key=value, got \"%s\"\n", optarg);
                return 2;
            }
            *eq = '\0';
            if (nsets == (int)WC_ARRAY_SIZE(sets)) {
                fprintf(stderr, "webcared: too many -o options\n");
                return 2;
            }
            sets[nsets].key = optarg;
            sets[nsets].value = eq + 1;
            snprintf(sets[nsets].origin, sizeof(sets[nsets].origin), "command line -o %s", optarg);
            nsets++;
            break;
        }
        case 'V':
            printf("webcared %s (librdkafka %s)\n", WC_VERSION_STR, rd_kafka_version_str());
            return 0;
        case 'h': usage(stdout); return 0;
        case 1: print_config = 1; break;
        case 2: wc_config_dump_doc(stdout); return 0;
        case 3: check_config = 1; break;
        default: usage(stderr); return 2;
        }
        if (key) {
            if (nsets == (int)WC_ARRAY_SIZE(sets)) {
                fprintf(stderr, "webcared: too many options\n");
                return 2;
            }
            sets[nsets].key = key;
            sets[nsets].value = optarg;
            snprintf(sets[nsets].origin, sizeof(sets[nsets].origin), "command line");
            nsets++;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "webcared: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    wc_config_t *cfg = wc_config_new();
    if (!cfg) {
        fprintf(stderr, "webcared: out of memory\n");
        return 1;
    }
    if (config_path && wc_config_load_file(cfg, config_path, errstr, sizeof(errstr))) {
        fprintf(stderr, "webcared: %s\n", errstr);
        wc_config_destroy(cfg);
        return 2;
    }
    for (int i = 0; i < nsets; i++) {
        if (wc_config_set(cfg, sets[i].key, sets[i].value, sets[i].origin, errstr,
                          sizeof(errstr))) {
            fprintf(stderr, "webcared: %s\n", errstr);
            wc_config_destroy(cfg);
            return 2;
        }
    }
    if (wc_config_validate(cfg, errstr, sizeof(errstr))) {
        fprintf(stderr, "webcared: invalid configuration: %s\n", errstr);
        wc_config_destroy(cfg);
        return 2;
    }
    if (print_config || check_config) {
        if (print_config)
            wc_config_dump(cfg, stdout);
        else
            printf("configuration ok\n");
        wc_config_destroy(cfg);
        return 0;
    }

    uint32_t mask = 0;
    wc_log_parse_debug(cfg->debug, &mask);
    wc_log_setup(wc_log_parse_level(cfg->log_level), !strcmp(cfg->log_format, "json"), mask);

    /* Overrides given on the command line are not re-applied on SIGHUP;
     * a reload re-reads the file only. */
    wc_app_t *app = wc_app_create(cfg, config_path, errstr, sizeof(errstr));
    if (!app) {
        wc_err("app", "startup failed: %s", errstr);
        return 1;
    }
    int rc = wc_app_run(app);
    wc_app_destroy(app);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "classify"))
        return wc_cli_classify(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "check-rules"))
        return wc_cli_check_rules(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "run"))
        return run_daemon(argc - 1, argv + 1);
    return run_daemon(argc, argv);
}
