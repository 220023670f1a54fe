/* cli.h: the command line: run, check, version, help (DESIGN.md §10).
 * Exit codes: 0 success, 1 runtime failure, 2 usage or config error. */
#ifndef LUATRADE_CLI_H
#define LUATRADE_CLI_H

int cli_main(int argc, char **argv);

#endif
