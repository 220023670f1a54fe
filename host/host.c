/* host.c: building, running and tearing down the host (see host.h).
 *
 * Event flow: feed -> host_publish_market (close due bars first, so a BAR precedes the
 * trade that opened the next period) -> bus -> market (first subscriber: updates last
 * quote/trade and open bars) and the order manager (marks, the paper venue's matching)
 * -> strategies -> oms_flush (group commit, then orders go to the venue). Bars also
 * close on time boundaries with no trade: a periodic 1 s host timer rolls the market
 * and ticks the order manager (equity sample, risk re-evaluation, day roll).
 *
 * Start-up order matters for recovery: the order manager opens (journal replay,
 * reconciliation with the venue) before any strategy starts, and each strategy starts
 * with the `state` its last journaled snapshot holds.
 *
 * SIGUSR1 engages the kill switch: the handler only sets an atomic flag and writes the
 * latch file (so orders are refused at once, even inside a stuck strategy's call) and
 * a byte to a pipe; the loop then cancels every working order.
 *
 * Live pacing: feed_ev fires every millisecond and emits the events due since start at
 * the configured rate (catching up after a stall, never dropping). Simulated: feed_ev
 * is re-added with a zero timeout after each batch of 4096 events, so libevent polls
 * (signals, the file watcher, the kill pipe) between batches. */
#include "host.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "config.h"
#include "event_log.h"
#include "feed.h"
#include "feed_sim.h"
#include "fixed.h"
#include "log.h"
#include "log_ring.h"
#include "market.h"
#include "metrics.h"
#include "oms.h"
#include "portfolio.h"
#include "record.h"
#include "risk.h"
#include "sbx.h"
#include "sbx_watchdog.h"
#include "strategy.h"
#include "timer.h"
#include "util.h"
#include "watch.h"

#define SIM_BATCH    4096
#define LIVE_TICK_US 1000
#define ROLL_US      1000000 /* the market rolls and the order manager ticks every second */
/* a bar without volume (indices, FX) quotes this much: orders fill whole at its close */
#define BAR_NO_VOLUME_SIZE (INT64_C(1) << 53)
/* event log slots (about 45 MB in all): every event (2 minutes at the demo's 1,000
 * events/s, under a second at 200,000), and every event but market data (hours) */
#define EVENT_LOG_ALL   (1 << 17)
#define EVENT_LOG_OTHER (1 << 15)

static void on_market_event(const struct event *ev, void *arg)
{
    struct host *h = arg;
    if (ev->type != EV_MARKET_DATA) return;
    if (ev->md_kind == MD_QUOTE) market_on_quote(h->market, &ev->u.quote, ev->ts_us, ev->seq);
    else market_on_trade(h->market, &ev->u.trade, ev->ts_us, ev->seq);
    if (h->oms) oms_on_market(h->oms, ev);
}

static void emit_bar(const struct bar *b, void *arg)
{
    struct host *h = arg;
    struct event ev = {.type = EV_BAR, .ts_us = b->time_us + tf_us(b->tf)};
    util_strlcpy(ev.source, "market", sizeof ev.source);
    ev.u.bar = *b;
    bus_publish(h->bus, &ev);
}

void host_publish_market(struct host *h, struct event *ev)
{
    int64_t t0 = h->metrics ? mono_ns() : 0;
    if (market_next_close(h->market) <= ev->ts_us) market_roll(h->market, ev->ts_us, emit_bar, h);
    bus_publish(h->bus, ev);
    if (h->recorder) recorder_market(h->recorder, ev);
    if (h->oms && oms_pending(h->oms)) oms_flush(h->oms);
    if (h->metrics) metrics_tick_done(h->metrics, t0);
}

void host_run_timers(struct host *h, int64_t now_us)
{
    if (h->recorder) recorder_timers(h->recorder, now_us); /* a replay runs them here too */
    if (timerq_run_due(h->timers, now_us) > 0 && h->oms) oms_after_timers(h->oms);
    if (h->oms && oms_pending(h->oms)) oms_flush(h->oms);
}

static void roll_timer(void *arg, uint64_t id)
{
    struct host *h = arg;
    int64_t now = clock_now_us(&h->clock);
    market_roll(h->market, now, emit_bar, h);
    if (h->oms) oms_tick(h->oms, now);
    if (h->recorder) recorder_flush(h->recorder);
    if (h->roll_skips) {
        /* a source with gaps (daily bars): no second-by-second rolls across a night, just
         * one at the next bar close or the last boundary before the next item, whichever
         * comes first (bars close, the day rolls) */
        int64_t due = now - now % ROLL_US + ROLL_US;
        int64_t before_next = h->next_item_us - h->next_item_us % ROLL_US;
        int64_t close = market_next_close(h->market); /* bars built from ticks close on time */
        timerq_add(h->timers, MAX(due, MIN(close, before_next)), 0, roll_timer, h);
    }
}

/* ---- timers on the loop -------------------------------------------------------------- */

void host_timers_changed(void *arg)
{
    struct host *h = arg;
    if (h->clock.kind != CLOCK_KIND_WALL || !h->timer_ev) return;
    int64_t due = timerq_next_due(h->timers);
    if (due == INT64_MAX) {
        evtimer_del(h->timer_ev);
        return;
    }
    int64_t delay = due - clock_now_us(&h->clock);
    if (delay < 0) delay = 0;
    struct timeval tv = {delay / 1000000, delay % 1000000};
    evtimer_add(h->timer_ev, &tv);
}

static void on_timer_ev(evutil_socket_t fd, short what, void *arg)
{
    struct host *h = arg;
    host_run_timers(h, clock_now_us(&h->clock));
    host_timers_changed(h);
}

/* ---- the feed ------------------------------------------------------------------------ */

static void emit_one(struct host *h, int64_t ts_us)
{
    struct event ev;
    feed_sim_next(h->feed, &ev);
    ev.ts_us = ts_us;
    host_publish_market(h, &ev);
    h->feed_emitted++;
}

static void on_feed_live(evutil_socket_t fd, short what, void *arg)
{
    struct host *h = arg;
    int64_t now = clock_now_us(&h->clock);
    double interval = feed_sim_interval_us(h->feed);
    uint64_t due = (uint64_t)((double)(now - h->feed_started_us) / interval);
    while (h->feed_emitted < due && !h->stopping) emit_one(h, now);
}

static void on_feed_sim(evutil_socket_t fd, short what, void *arg)
{
    struct host *h = arg;
    double interval = feed_sim_interval_us(h->feed);
    for (int i = 0; i < SIM_BATCH && !h->stopping; i++) {
        int64_t ts = h->feed_started_us + (int64_t)((double)h->feed_emitted * interval);
        if (h->stop_at_us && ts >= h->stop_at_us) {
            clock_advance_to(&h->clock, h->stop_at_us);
            host_run_timers(h, h->stop_at_us);
            host_stop(h, h->exit_code);
            return;
        }
        /* timers due before this event run first, at their own time */
        for (int64_t due; (due = timerq_next_due(h->timers)) <= ts && !h->stopping;) {
            clock_advance_to(&h->clock, due);
            host_run_timers(h, due);
        }
        clock_advance_to(&h->clock, ts);
        emit_one(h, ts);
    }
    /* a zero timeout, not event_active: libevent then polls (signals, file changes, the
     * kill pipe) before the next batch; an active event would starve them */
    static const struct timeval now = {0, 0};
    if (!h->stopping) event_add(h->feed_ev, &now);
}

/* ---- a source that carries its own times (feed.h) --------------------------------------- */

/* A bar from a file: its close is quoted and printed first (orders sent from on_bar fill
 * there, as at the close), then the bar goes into the history and out to strategies. */
static void publish_feed_bar(struct host *h, const struct bar *b, int64_t ts_us)
{
    int64_t size = b->volume > 0 ? b->volume : BAR_NO_VOLUME_SIZE;
    struct event q = {.type = EV_MARKET_DATA, .md_kind = MD_QUOTE, .ts_us = ts_us};
    util_strlcpy(q.source, "bars", sizeof q.source);
    q.u.quote = (struct quote){b->sym, b->close, b->close, size, size, 0};
    host_publish_market(h, &q);
    struct event t = {.type = EV_MARKET_DATA, .md_kind = MD_TRADE, .ts_us = ts_us};
    util_strlcpy(t.source, "bars", sizeof t.source);
    t.u.trade = (struct trade){b->sym, b->close, size, 0};
    host_publish_market(h, &t);
    market_add_bar(h->market, b);
    emit_bar(b, h);
    if (h->oms && oms_pending(h->oms)) oms_flush(h->oms);
}

static void source_item(struct host *h, struct feed_item *it)
{
    if (!h->source->timers_marked)
        for (int64_t due; (due = timerq_next_due(h->timers)) <= it->ts_us && !h->stopping;) {
            clock_advance_to(&h->clock, due);
            host_run_timers(h, due);
        }
    clock_advance_to(&h->clock, it->ts_us);
    if (it->kind == FEED_TIMERS) host_run_timers(h, it->ts_us);
    else if (it->kind == FEED_BAR) publish_feed_bar(h, &it->ev.u.bar, it->ts_us);
    else host_publish_market(h, &it->ev);
    h->feed_emitted++;
}

static void on_feed_source(evutil_socket_t fd, short what, void *arg)
{
    struct host *h = arg;
    for (int i = 0; i < SIM_BATCH && !h->stopping; i++) {
        struct feed_item it;
        int rc = h->source->next(h->source->impl, &it, &h->source_err);
        if (rc <= 0) {
            if (rc < 0) log_error("host", "market data failed", "error=\"%s\"", h->source_err.msg);
            else
                log_info("host", "market data ended", "items=%llu",
                         (unsigned long long)h->feed_emitted);
            h->source_failed = rc < 0;
            host_stop(h, rc < 0 ? 1 : h->exit_code);
            return;
        }
        h->next_item_us = it.ts_us;
        source_item(h, &it);
    }
    static const struct timeval now = {0, 0};
    if (!h->stopping) event_add(h->feed_ev, &now);
}

void host_set_source(struct host *h, const struct feed_source *src)
{
    h->source = src;
    h->roll_skips = !src->timers_marked;
    market_set_bars_from_feed(h->market, src->bars_from_feed);
}

/* ---- start and stop ----------------------------------------------------------------- */

void host_stop(struct host *h, int exit_code)
{
    if (exit_code > h->exit_code) h->exit_code = exit_code;
    if (h->stopping) return;
    h->stopping = 1;
    event_base_loopbreak(h->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct host *h = arg;
    log_info("host", "signal received; shutting down", "signal=%s", sig == SIGINT ? "INT" : "TERM");
    host_stop(h, 0);
}

static void on_stop_ev(evutil_socket_t fd, short what, void *arg)
{
    struct host *h = arg;
    log_info("host", "run duration reached; shutting down", NULL);
    host_stop(h, h->exit_code);
}

/* ---- the kill switch from a signal ---------------------------------------------------- */

static struct host *signal_host; /* the host SIGUSR1 acts on */

static void on_sigusr1(int sig)
{
    (void)sig;
    struct host *h = signal_host;
    if (!h || !h->oms) return;
    oms_kill_async(h->oms);
    int saved = errno;
    ssize_t w = write(h->kill_pipe[1], "k", 1);
    (void)w;
    errno = saved;
}

static void on_kill_pipe(evutil_socket_t fd, short what, void *arg)
{
    struct host *h = arg;
    char b[64];
    while (read(fd, b, sizeof b) > 0) continue;
    log_warn("host", "SIGUSR1 received; engaging the kill switch", NULL);
    oms_tick(h->oms, clock_now_us(&h->clock));
    oms_flush(h->oms);
}

/* The watchdog thread is about to abort the process (a call stuck in C past its hard
 * limit): latch the kill switch first, so the restart cancels every working order and
 * trades nothing until an operator re-arms. */
static void on_watchdog_fatal(void *arg)
{
    struct host *h = arg;
    if (h->oms) oms_kill_async(h->oms);
}

static int start_kill_signal(struct host *h, struct err *e)
{
    if (pipe2(h->kill_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
        return err_set(e, "cannot create the kill-switch pipe: %s", strerror(errno));
    h->kill_ev = event_new(h->base, h->kill_pipe[0], EV_READ | EV_PERSIST, on_kill_pipe, h);
    event_add(h->kill_ev, NULL);
    signal_host = h;
    struct sigaction sa = {0};
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    return 0;
}

/* ---- the trading core ------------------------------------------------------------------ */

#define MAX_STRATEGIES_WITH_RISK 256

static void risk_config_of(const struct config *cfg, struct risk_config *rc)
{
    risk_config_defaults(rc);
    rc->global = cfg->risk;
    memcpy(rc->alert_at, cfg->alert_at, sizeof rc->alert_at);
    rc->restricted = cfg->restricted;
    rc->nrestricted = cfg->nrestricted;
}

static int start_oms(struct host *h, const struct config *cfg, struct err *e)
{
    char journal[PATH_MAX], book[PATH_MAX];
    /* without a var directory (tests that build a host directly) nothing is durable */
    const char *var = cfg->var_dir ? cfg->var_dir : ".";
    snprintf(journal, sizeof journal, "%s/journal.wal", var);
    snprintf(book, sizeof book, "%s/paper-venue.wal", var);
    struct oms_config oc = {
        .journal_path = cfg->journal_enabled && cfg->var_dir ? journal : NULL,
        .sync = cfg->journal_sync ? JOURNAL_SYNC_FDATASYNC : JOURNAL_SYNC_NONE,
        .paper = {.slippage_bps = cfg->slippage_bps,
                  .fill_on_touch = cfg->fill_on_touch,
                  .latency_ms = cfg->latency_ms,
                  .commission_per_unit = cfg->commission_per_share,
                  .commission_bps = cfg->commission_bps,
                  .initial_cash = cfg->cash,
                  .book_path = cfg->journal_enabled && cfg->var_dir ? book : NULL,
                  .sync = cfg->journal_sync ? JOURNAL_SYNC_FDATASYNC : JOURNAL_SYNC_NONE},
        .initial_cash = cfg->cash,
        .mark_mid = cfg->mark_mid,
        .session_end_min = cfg->session_end_min,
        .session_tz = cfg->session_tz ? cfg->session_tz : "America/New_York",
        .kill_flatten = cfg->kill_flatten,
    };
    risk_config_of(cfg, &oc.risk);
    struct risk_config per = oc.risk;
    char *ids[MAX_STRATEGIES_WITH_RISK];
    struct risk_limits lims[MAX_STRATEGIES_WITH_RISK];
    per.ids = ids;
    per.per = lims;
    per.nper = 0;
    for (int i = 0; i < cfg->nstrategies && per.nper < MAX_STRATEGIES_WITH_RISK; i++)
        if (cfg->strategies[i].has_risk) {
            ids[per.nper] =
                cfg->strategies[i].id ? cfg->strategies[i].id : cfg->strategies[i].script;
            lims[per.nper++] = cfg->strategies[i].risk;
        }
    if (risk_config_check(&per, e) != 0) return err_prefix(e, "%s: risk", cfg->path);
    h->oms = oms_open(h, &oc, e);
    return h->oms ? 0 : -1;
}

/* Each strategy starts from its last journaled `state`, trades into its own account (with
 * its declared capital) and under its own risk limits (config order = instance order). */
static void restore_strategies(struct host *h, const struct config *cfg)
{
    for (int i = 0; i < strategies_count(h->strategies); i++) {
        struct strategy *st = strategies_at(h->strategies, i);
        int64_t capital = 0;
        if (fx_from_double(strategy_capital(st), MONEY_DP, &capital) != 0) capital = 0;
        portfolio_account(oms_portfolio(h->oms), strategy_id(st), capital);
        if (i < cfg->nstrategies && cfg->strategies[i].has_risk)
            risk_set_limits(oms_risk(h->oms), strategy_id(st), &cfg->strategies[i].risk);
        const struct buf *saved = oms_recovered_state(h->oms, strategy_id(st));
        if (saved) strategy_set_saved_state(st, saved->p, saved->len);
    }
}

static void on_files_changed(const char *const *paths, int n, void *arg)
{
    struct host *h = arg;
    for (int i = 0; i < n; i++) strategies_file_changed(h->strategies, paths[i]);
}

static int add_instruments(struct host *h, const struct config *cfg, struct feed_sim_symbol *fs,
                           struct err *e)
{
    for (int i = 0; i < cfg->nsymbols; i++) {
        const struct config_symbol *cs = &cfg->symbols[i];
        struct instrument ins = {0};
        util_strlcpy(ins.symbol, cs->symbol, sizeof ins.symbol);
        ins.px_dp = fx_decimals_of(cs->tick);
        ins.qty_dp = fx_decimals_of(cs->lot);
        if (fx_from_double(cs->tick, ins.px_dp, &ins.tick) != 0 ||
            fx_from_double(cs->lot, ins.qty_dp, &ins.lot) != 0)
            return err_set(e, "%s: feed.symbols.%s: bad tick or lot", cfg->path, cs->symbol);
        int id = instruments_add(&h->instruments, &ins, e);
        if (id < 0) return -1;
        fs[i] = (struct feed_sim_symbol){id,      cs->price,        cs->drift,
                                         cs->vol, cs->spread_ticks, cs->max_lots};
    }
    return 0;
}

void host_default_scripts_dir(char *out, size_t n)
{
    if (access("scripts", R_OK | X_OK) == 0) {
        util_strlcpy(out, "scripts", n);
        return;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(out, n, "%s/../scripts", exe);
        if (access(out, R_OK | X_OK) == 0) return;
    }
    util_strlcpy(out, "scripts", n);
}

static void find_scripts_dir(struct host *h, const struct config *cfg)
{
    if (cfg->scripts_dir) util_strlcpy(h->scripts_dir, cfg->scripts_dir, sizeof h->scripts_dir);
    else host_default_scripts_dir(h->scripts_dir, sizeof h->scripts_dir);
}

static int start_sandboxes(struct host *h, const struct config *cfg, struct err *e)
{
    h->wd = sbx_watchdog_new(e);
    if (!h->wd) return -1;
    struct err pe;
    if (!cfg->jit) {
        h->sbx_jit = 0;
        log_info("sbx", "sandbox mode", "mode=interpreter reason=\"jit = off in config\"");
    } else if (sbx_probe(h->wd, &pe)) {
        h->sbx_jit = 1;
        log_info("sbx", "sandbox mode", "mode=jit probe=passed watchdog=checkhook");
    } else {
        char q[1100];
        h->sbx_jit = 0;
        log_warn("sbx", "sandbox mode", "mode=interpreter probe=failed reason=%s",
                 log_quote(q, sizeof q, pe.msg));
    }
    return 0;
}

static int add_strategies(struct host *h, const struct config *cfg, struct err *e)
{
    struct strategy_limits limits = {cfg->memory_limit,   cfg->callback_budget_us,
                                     cfg->load_budget_us, cfg->script_limit,
                                     cfg->max_errors,     cfg->error_window_us};
    h->strategies = strategies_new(h, &limits);
    for (int i = 0; i < cfg->nstrategies; i++) {
        const struct config_strategy *cs = &cfg->strategies[i];
        struct strategy_spec spec = {cs->id,       cs->script,  (const char *const *)cs->symbols,
                                     cs->nsymbols, &cs->params, &cfg->cli_params};
        if (!strategies_add(h->strategies, &spec, e)) return -1;
    }
    return 0;
}

static int start_watch(struct host *h, const struct config *cfg, struct err *e)
{
    if (!cfg->watch) return 0;
    h->watch = watch_new(h->base, cfg->reload_debounce_ms, on_files_changed, h, e);
    if (!h->watch) return -1;
    if (access(h->scripts_dir, R_OK | X_OK) != 0)
        log_warn("host", "no scripts directory; modules cannot be required or watched",
                 "scripts=%s", h->scripts_dir);
    else if (watch_add(h->watch, h->scripts_dir, 1, e) != 0) return -1;
    for (int i = 0; i < strategies_count(h->strategies); i++) {
        char dir[PATH_MAX];
        strategy_script_dir(strategies_at(h->strategies, i), dir, sizeof dir);
        if (watch_add(h->watch, dir, 0, e) != 0) return -1;
    }
    return 0;
}

int host_init(struct host *h, const struct config *cfg, struct err *e)
{
    memset(h, 0, sizeof *h);
    h->cfg = cfg;
    h->mode = cfg->mode ? cfg->mode : "paper";
    host_start_log_tail(h);
    /* timers on CLOCK_MONOTONIC, not the 4 ms COARSE clock libevent uses by default */
    struct event_config *ec = event_config_new();
    if (ec) {
        event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
        h->base = event_base_new_with_config(ec);
        event_config_free(ec);
    }
    if (!h->base) return err_set(e, "cannot create the event loop");
    if (cfg->sim_clock) clock_init_sim(&h->clock, cfg->start_us);
    else clock_init_wall(&h->clock);
    log_set_clock(clock_now_cb, &h->clock);
    h->timers = timerq_new();
    h->timer_ev = evtimer_new(h->base, on_timer_ev, h);
    timerq_set_notify(h->timers, host_timers_changed, h);
    h->bus = bus_new(&h->clock);
    find_scripts_dir(h, cfg);
    if (cfg->nsymbols == 0)
        return err_set(e, "%s: feed.symbols: at least one symbol is needed", cfg->path);
    struct feed_sim_symbol *fs = xcalloc((size_t)cfg->nsymbols, sizeof *fs);
    int rc = add_instruments(h, cfg, fs, e);
    if (rc == 0 && !cfg->backtest) {
        struct feed_sim_config fc = {cfg->feed_seed ? cfg->feed_seed : cfg->seed, cfg->feed_rate,
                                     cfg->feed_trade_ratio, fs, cfg->nsymbols};
        h->feed = feed_sim_new(&fc, &h->instruments, e);
        if (!h->feed) rc = -1;
    }
    free(fs);
    if (rc != 0) return -1;
    h->market = market_new(&h->instruments, cfg->bar_history);
    /* first subscriber: the log must hold every event, in order (a backtest serves no
     * page and no console: nobody reads it) */
    if (!cfg->backtest) {
        h->events =
            event_log_new(cfg->ws_history ? (size_t)cfg->ws_history : EVENT_LOG_ALL,
                          cfg->ws_history_other ? (size_t)cfg->ws_history_other : EVENT_LOG_OTHER,
                          &h->instruments);
        event_log_attach(h->events, h->bus);
    }
    bus_subscribe(h->bus, EV_BIT(EV_MARKET_DATA), on_market_event, h);
    if (start_oms(h, cfg, e) || start_kill_signal(h, e)) return -1;
    if (start_sandboxes(h, cfg, e) || add_strategies(h, cfg, e) || start_watch(h, cfg, e))
        return -1;
    sbx_watchdog_set_fatal(h->wd, on_watchdog_fatal, h);
    restore_strategies(h, cfg);
    if (!cfg->backtest) h->metrics = metrics_new(h);
    if (host_start_http(h, e) != 0) return -1;
    h->sig_int = evsignal_new(h->base, SIGINT, on_signal, h);
    h->sig_term = evsignal_new(h->base, SIGTERM, on_signal, h);
    evsignal_add(h->sig_int, NULL);
    evsignal_add(h->sig_term, NULL);
    log_info("host", "ready", "symbols=%d strategies=%d clock=%s rate=%g scripts=%s",
             h->instruments.n, strategies_count(h->strategies), cfg->sim_clock ? "sim" : "wall",
             cfg->feed_rate, h->scripts_dir);
    return 0;
}

int host_run(struct host *h, int64_t for_us)
{
    int64_t now = clock_now_us(&h->clock);
    /* a recording starts where the strategies do: the timers they set in on_start are
     * due at the same times when it is replayed */
    if (h->cfg->record_dir && !h->cfg->backtest) {
        struct err e;
        h->recorder = recorder_open(h->cfg->record_dir, &h->instruments, h->cfg->seed, now, &e);
        if (!h->recorder) {
            log_error("host", "cannot record market data", "error=\"%s\"", e.msg);
            return 1;
        }
    }
    timerq_add(h->timers, now - now % ROLL_US + ROLL_US, h->roll_skips ? 0 : ROLL_US, roll_timer,
               h);
    h->feed_started_us = now;
    strategies_start_all(h->strategies);
    /* what recovery found reaches the strategies' on_fill/on_order now that they run */
    oms_publish_recovered(h->oms);
    if (oms_pending(h->oms)) oms_flush(h->oms);
    if (h->source) {
        h->feed_ev = event_new(h->base, -1, 0, on_feed_source, h);
        event_active(h->feed_ev, EV_TIMEOUT, 0);
    } else if (h->clock.kind == CLOCK_KIND_SIM) {
        if (for_us > 0) h->stop_at_us = now + for_us;
        h->feed_ev = event_new(h->base, -1, 0, on_feed_sim, h);
        event_active(h->feed_ev, EV_TIMEOUT, 0);
    } else {
        h->feed_ev = event_new(h->base, -1, EV_PERSIST, on_feed_live, h);
        struct timeval tick = {0, LIVE_TICK_US};
        event_add(h->feed_ev, &tick);
        if (for_us > 0) {
            h->stop_ev = evtimer_new(h->base, on_stop_ev, h);
            struct timeval tv = {for_us / 1000000, for_us % 1000000};
            evtimer_add(h->stop_ev, &tv);
        }
        host_timers_changed(h);
    }
    if (!h->stopping) event_base_dispatch(h->base);
    strategies_stop_all(h->strategies, "shutdown");
    struct market_stats ms;
    market_stats(h->market, -1, &ms);
    log_info("host", "stopped", "events=%llu quotes=%llu trades=%llu bars=%llu gaps=%llu",
             (unsigned long long)bus_last_seq(h->bus), (unsigned long long)ms.quotes,
             (unsigned long long)ms.trades, (unsigned long long)ms.bars_closed,
             (unsigned long long)ms.gaps);
    return h->exit_code;
}

void host_fini(struct host *h)
{
    host_stop_http(h);
    if (h->strategies) strategies_stop_all(h->strategies, "shutdown");
    recorder_close(h->recorder);
    h->recorder = NULL;
    strategies_free(h->strategies);
    h->strategies = NULL;
    oms_free(h->oms); /* after the strategies: their last states are journaled */
    metrics_free(h->metrics);
    h->metrics = NULL;
    if (signal_host == h) {
        signal(SIGUSR1, SIG_DFL);
        signal_host = NULL;
    }
    if (h->kill_ev) event_free(h->kill_ev);
    if (h->kill_pipe[0] > 0) close(h->kill_pipe[0]), close(h->kill_pipe[1]);
    watch_free(h->watch);
    struct event *evs[] = {h->timer_ev, h->feed_ev, h->stop_ev, h->sig_int, h->sig_term};
    for (size_t i = 0; i < ARRAY_LEN(evs); i++)
        if (evs[i]) event_free(evs[i]);
    sbx_watchdog_free(h->wd);
    market_free(h->market);
    feed_sim_free(h->feed);
    event_log_free(h->events);
    bus_free(h->bus);
    timerq_free(h->timers);
    instruments_free(&h->instruments);
    if (h->base) event_base_free(h->base);
    log_set_clock(NULL, NULL);
    log_ring_free(h->logs);
    memset(h, 0, sizeof *h);
}
