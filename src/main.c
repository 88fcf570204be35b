/* mamori — one binary, git-style subcommands.  main() only dispatches: each
 * command is `int cmd_NAME(int argc, char **argv)` with its own options and
 * --help, registered by one line in the table below. */
#include <stdio.h>
#include <string.h>

#ifndef MAMORI_VERSION
#define MAMORI_VERSION "0.1.0"
#endif

int cmd_observe(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_lure(int argc, char **argv);
int cmd_notify(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_testbed(int argc, char **argv);
int cmd_share(int argc, char **argv);

static const struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"lure", cmd_lure, "run an IoT telnet honeypot (BusyBox personas, Cowrie events)"},
    {"notify", cmd_notify, "group survey findings by ISP: CSV, JSON and letters (en, ja) per owner"},
    {"observe", cmd_observe, "watch a darknet (pcap files or a live interface) into the database"},
    {"probe", cmd_probe, "check telnet, SSH and HTTP services for default-credential logins"},
    {"report", cmd_report, "summarise the database as text, JSON or CSV"},
    {"scan", cmd_scan, "TCP SYN scan of explicit targets (ZMap's method), results as CSV/JSON and rounds"},
    {"serve", cmd_serve, "serve the database over HTTP: JSON API, metrics, dashboard files"},
    {"share", cmd_share, "share indicators: STIX 2.1 export/import, TAXII 2.1 pull/push, trust, anonymize"},
    {"synth", cmd_synth, "write a synthetic telescope capture and its ground truth"},
    {"testbed", cmd_testbed, "emulated IoT devices in network namespaces, for the survey"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mamori <command> [options]   (mamori <command> --help for its options)\n\n"
            "mamori %s — an IoT-security platform: darknet observatory first.\n\ncommands:\n",
            MAMORI_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("mamori %s\n", MAMORI_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mamori: '%s' is not a mamori command (see mamori --help)\n", argv[1]);
    return 2;
}
