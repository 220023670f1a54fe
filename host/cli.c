/* cli.c: command dispatch. Commands are a table; each parses its own flags and
 * returns an exit code. Unknown commands and bad flags print usage and exit 2. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct command commands[] = {
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "show this help"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: luatrade <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

static int cmd_help(int argc, char **argv)
{
    usage(stdout);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    printf("luatrade %s\n", LUATRADE_VERSION);
    return 0;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "luatrade: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
