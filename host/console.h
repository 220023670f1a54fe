/* console.h: `luatrade console`, the client of the running host's console socket
 * (docs/console.md). */
#ifndef LUATRADE_CONSOLE_H
#define LUATRADE_CONSOLE_H

/* The console command. argv[0] is "console"; the options are --socket PATH, --var DIR,
 * -e CODE (repeatable), -h/--help. Connects, runs the -e codes, the interactive REPL
 * (stdin and stdout terminals) or stdin's lines, and returns the exit code: 0 success,
 * 1 runtime failure (no host, an error reply, the connection lost, input ended inside an
 * incomplete chunk), 2 usage error. Prints its own messages. */
int console_main(int argc, char **argv);

#endif
