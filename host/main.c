/* main.c: the luatrade binary. Everything lives in the core library; see cli.c. */
#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
