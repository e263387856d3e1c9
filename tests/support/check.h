/*
 * Assertions for tests. They survive NDEBUG, print where and what failed,
 * and exit the test with status 1.
 */
#ifndef ZMTLS_TEST_CHECK_H
#define ZMTLS_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

#define CHECK_INT(a, op, b)                                                              \
    do {                                                                                 \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                  \
        if (!(check_a_ op check_b_)) {                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s %s %s (%lld vs %lld)\n", __FILE__,  \
                    __LINE__, #a, #op, #b, check_a_, check_b_);                          \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

#define CHECK_EQ(a, b) CHECK_INT(a, ==, b)

#define CHECK_STR(a, b)                                                                  \
    do {                                                                                 \
        const char *check_sa_ = (a), *check_sb_ = (b);                                   \
        if (strcmp(check_sa_, check_sb_) != 0) {                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" vs \"%s\")\n",        \
                    __FILE__, __LINE__, #a, #b, check_sa_, check_sb_);                   \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

#endif
