/* cli.c: command dispatch (DESIGN.md §10). Commands are a table; each parses its own
 * flags and returns an exit code: 0 success, 1 runtime failure, 2 usage or config
 * error. Unknown commands and bad flags print usage and exit 2. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backtest.h"
#include "config.h"
#include "console.h"
#include "host.h"
#include "log.h"
#include "param.h"
#include "sbx_watchdog.h"
#include "strategy.h"
#include "util.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *args;
    const char *summary;
};

static int cmd_run(int argc, char **argv);
static int cmd_check(int argc, char **argv);
static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct command commands[] = {
    {"run", cmd_run,
     "[CONFIG] [--strategy FILE[:SYM,SYM]]... [--param k=v]... [--for DURATION] [--var DIR]\n"
     "           [--listen ADDR:PORT]",
     "run the host live (default config: config/default.lua)"},
    {"backtest", backtest_main,
     "SCRIPT (--data FILE... | --replay FILE...) [--from T] [--to T] [--capital N]\n"
     "           [--param k=v]... [--config F] [--out DIR] [--seed N] [--skip-bad]\n"
     "           [--sweep k=from:to:step]... [--jobs N] [--rank METRIC] [--walk-forward K]",
     "run SCRIPT over market data on a simulated clock; writes a report"},
    {"console", console_main, "[--socket PATH] [--var DIR] [-e CODE]...",
     "a Lua console attached to the running host (default socket: var/luatrade.sock)"},
    {"check", cmd_check, "SCRIPT...", "compile scripts and check their strategy{} declarations"},
    {"version", cmd_version, "", "print the version"},
    {"help", cmd_help, "", "show this help"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: luatrade <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(f, "  %-8s %s\n           %s\n", commands[i].name, commands[i].args,
                commands[i].summary);
    fprintf(f, "\nexit codes: 0 success, 1 runtime failure, 2 usage or config error\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "luatrade: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    usage(stderr);
    return 2;
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 1) return usage_error("help takes no arguments (got '%s')", argv[1]);
    usage(stdout);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 1) return usage_error("version takes no arguments (got '%s')", argv[1]);
    printf("luatrade %s (LuaJIT 2.1 CHECKHOOK)\n", LUATRADE_VERSION);
    return 0;
}

struct run_args {
    const char *config;
    const char *var;
    const char *listen;
    int64_t for_us;
    char **strategies;
    int nstrategies;
    struct params params;
};

/* Parses run's arguments; returns 0, or 2 after printing usage. */
static int parse_run(int argc, char **argv, struct run_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = !strcmp(arg, "--strategy") || !strcmp(arg, "--param") ||
                    !strcmp(arg, "--for") || !strcmp(arg, "--var") || !strcmp(arg, "--listen");
        if (takes && !val) return usage_error("%s needs a value", arg);
        if (!strcmp(arg, "--strategy")) {
            a->strategies =
                xrealloc(a->strategies, sizeof *a->strategies * (size_t)(a->nstrategies + 1));
            a->strategies[a->nstrategies++] = argv[++i];
        } else if (!strcmp(arg, "--param")) {
            struct param p;
            struct err e;
            if (param_parse_kv(val, &p, &e) != 0) return usage_error("%s", e.msg);
            params_set(&a->params, &p);
            param_clear(&p);
            i++;
        } else if (!strcmp(arg, "--for")) {
            if (util_parse_duration(val, &a->for_us) != 0 || a->for_us <= 0)
                return usage_error("--for '%s': expected a duration like 10s, 5m, 1h", val);
            i++;
        } else if (!strcmp(arg, "--var")) {
            a->var = argv[++i];
        } else if (!strcmp(arg, "--listen")) {
            a->listen = argv[++i];
        } else if (arg[0] == '-') {
            return usage_error("unknown flag '%s'", arg);
        } else if (!a->config) {
            a->config = arg;
        } else {
            return usage_error("unexpected argument '%s' (one CONFIG at most)", arg);
        }
    }
    return 0;
}

/* Creates the var directory and takes its lock, so two hosts never share one. */
static int take_var(const char *dir, int *lock_fd)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "luatrade: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/luatrade.pid", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "?";
        if (fd >= 0) {
            ssize_t n = read(fd, pid, sizeof pid - 1);
            pid[n > 0 ? n : 0] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
            close(fd);
        }
        fprintf(stderr, "luatrade: %s is in use by another host (pid %s); use --var DIR\n", dir,
                pid);
        return -1;
    }
    if (ftruncate(fd, 0) == 0) dprintf(fd, "%d\n", (int)getpid());
    *lock_fd = fd;
    return 0;
}

static int run_host(struct config *cfg, struct run_args *a)
{
    struct host h;
    struct err e;
    if (host_init(&h, cfg, &e) != 0) {
        log_error("host", "cannot start", "error=\"%s\"", e.msg);
        fprintf(stderr, "luatrade: %s\n", e.msg);
        host_fini(&h);
        return 2;
    }
    for (int i = 0; i < a->params.n; i++) {
        int used = 0;
        for (int k = 0; k < strategies_count(h.strategies); k++)
            used |= strategy_declares_param(strategies_at(h.strategies, k), a->params.v[i].name);
        if (!used) {
            fprintf(stderr, "luatrade: --param %s: no strategy declares a parameter of that name\n",
                    a->params.v[i].name);
            host_fini(&h);
            return 2;
        }
    }
    int rc = host_run(&h, a->for_us);
    host_fini(&h);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    struct run_args a = {.config = NULL, .var = "var"};
    int rc = parse_run(argc, argv, &a);
    struct config cfg = {0};
    int lock_fd = -1;
    struct sbx_watchdog *wd = NULL;
    if (rc) goto done;
    if (!a.config) a.config = "config/default.lua";
    struct err e;
    wd = sbx_watchdog_new(&e);
    if (!wd) {
        fprintf(stderr, "luatrade: %s\n", e.msg);
        rc = 1;
        goto done;
    }
    if (config_load(a.config, wd, &cfg, &e) != 0) {
        fprintf(stderr, "luatrade: %s\n", e.msg);
        rc = 2;
        goto done;
    }
    sbx_watchdog_free(wd);
    wd = NULL;
    for (int i = 0; i < a.nstrategies; i++)
        if (config_add_strategy_arg(&cfg, a.strategies[i], &e) != 0) {
            rc = usage_error("%s", e.msg);
            goto done;
        }
    params_copy(&cfg.cli_params, &a.params);
    cfg.var_dir = xstrdup(a.var);
    if (a.listen) {
        free(cfg.http_listen);
        cfg.http_listen = xstrdup(a.listen);
        cfg.http_enabled = 1;
    }
    if (take_var(a.var, &lock_fd) != 0) {
        rc = 1;
        goto done;
    }
    log_set_level((enum log_level)cfg.log_level);
    if (cfg.log_file) {
        char path[4096];
        if (cfg.log_file[0] == '/') util_strlcpy(path, cfg.log_file, sizeof path);
        else snprintf(path, sizeof path, "%s/%s", a.var, cfg.log_file);
        if (log_open_file(path, &e) != 0) {
            fprintf(stderr, "luatrade: %s\n", e.msg);
            rc = 1;
            goto done;
        }
    }
    log_route_libevent();
    rc = run_host(&cfg, &a);
done:
    log_close_file();
    if (lock_fd >= 0) close(lock_fd);
    sbx_watchdog_free(wd);
    config_free(&cfg);
    params_free(&a.params);
    free(a.strategies);
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    if (argc < 2) return usage_error("%s", "check needs at least one SCRIPT");
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') return usage_error("unknown flag '%s'", argv[i]);
    }
    log_set_level(LOG_WARN);
    char scripts[4096];
    host_default_scripts_dir(scripts, sizeof scripts);
    for (int i = 1; i < argc; i++) {
        struct err e;
        if (strategy_check_script(argv[i], scripts, &e) != 0) {
            printf("FAIL %s\n", e.msg);
            failed++;
        } else {
            printf("ok   %s (%s)\n", argv[i], e.msg);
        }
    }
    return failed ? 1 : 0;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return cmd_help(1, argv);
    if (!strcmp(argv[1], "--version")) return cmd_version(1, argv);
    return usage_error("unknown command '%s'", argv[1]);
}
