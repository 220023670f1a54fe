/* instrument.h: the registry of tradable symbols and their number grids.
 *
 * Each instrument has a small integer id (its index, assigned in registration order,
 * stable for the life of the host), a price scale (px_dp decimals) with a tick size in
 * those units, and a quantity scale (qty_dp) with a lot size. Prices of an instrument
 * are always multiples of its tick; quantities multiples of its lot. */
#ifndef LUATRADE_INSTRUMENT_H
#define LUATRADE_INSTRUMENT_H

#include <stdint.h>
#include "err.h"

#define SYMBOL_MAX      16 /* including the NUL */
#define INSTRUMENTS_MAX 1024

struct instrument {
    char symbol[SYMBOL_MAX];
    int px_dp;    /* price decimals */
    int64_t tick; /* minimum price step, in 10^-px_dp units, > 0 */
    int qty_dp;   /* quantity decimals */
    int64_t lot;  /* minimum quantity step, in 10^-qty_dp units, > 0 */
};

struct instruments {
    struct instrument *v;
    int n;
};

/* A symbol is 1..15 characters of [A-Za-z0-9._:/-], starting with a letter or digit. */
int instrument_symbol_valid(const char *s);

/* Adds an instrument. Returns its id, or -1 and fills e (invalid symbol, duplicate,
 * bad grid, registry full). */
int instruments_add(struct instruments *r, const struct instrument *ins, struct err *e);
/* Id of sym, or -1. */
int instruments_find(const struct instruments *r, const char *sym);
void instruments_free(struct instruments *r);

#endif
