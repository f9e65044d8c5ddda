/* Minimal assertions for the C tests: a failed check prints where and exits 1. */
#ifndef EWS_TEST_CHECK_H
#define EWS_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                      \
    do {                                                                                    \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                     \
        if (check_a_ != check_b_) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", __FILE__,     \
                    __LINE__, #a, #b, check_a_, check_b_);                                  \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

#define CHECK_MEM(p, len, expected) \
    CHECK((len) == strlen(expected) && memcmp((p), (expected), (len)) == 0)

#endif
