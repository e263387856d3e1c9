/*
 * Runs a libFuzzer target as an ordinary test: every regular file of the
 * corpus directory (sorted, so failures reproduce in the same order), a
 * fixed number of mutations of each, then bounded pseudo-random inputs.
 * The generator is seeded with a constant so every run feeds the same bytes.
 * Each input lives in a heap block of exactly its size, so a sanitizer
 * build reports any read past the end.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT_SIZE     (1u << 20)
#define MAX_FILES          4096
#define MUTATIONS_PER_FILE 64
#define RANDOM_INPUTS      512
#define RANDOM_MAX_SIZE    700

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static void run_one(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL) {
        fprintf(stderr, "replay: out of memory\n");
        exit(1);
    }
    if (size)
        memcpy(copy, data, size);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads up to MAX_INPUT_SIZE bytes; larger files are replayed truncated. */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = malloc(MAX_INPUT_SIZE);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    *size = fread(buf, 1, MAX_INPUT_SIZE, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Flips, overwrites, truncates or extends a copy of a seed: structured
 * inputs reach deeper than uniform noise. */
static void run_mutations(const uint8_t *seed, size_t size, uint64_t *rng)
{
    size_t cap = size + 16;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) {
        fprintf(stderr, "replay: out of memory\n");
        exit(1);
    }
    for (int m = 0; m < MUTATIONS_PER_FILE; m++) {
        if (size)
            memcpy(buf, seed, size);
        size_t len = size;
        int edits = 1 + (int)(next_random(rng) % 4);
        for (int e = 0; e < edits; e++) {
            uint64_t r = next_random(rng);
            switch (r % 4) {
            case 0:
                if (len)
                    buf[(r >> 8) % len] ^= (uint8_t)(1u << ((r >> 4) % 8));
                break;
            case 1:
                if (len)
                    buf[(r >> 8) % len] = (uint8_t)(r >> 40);
                break;
            case 2:
                if (len)
                    len = (size_t)((r >> 8) % len);
                break;
            default:
                if (len < cap)
                    buf[len++] = (uint8_t)(r >> 40);
                break;
            }
        }
        run_one(buf, len);
    }
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    const char *dir_path = argv[1];
    DIR *dir = opendir(dir_path);
    if (dir == NULL) {
        perror(dir_path);
        return 1;
    }

    char **names = calloc(MAX_FILES, sizeof *names);
    size_t count = 0;
    if (names == NULL)
        return 1;
    struct dirent *ent;
    while ((ent = readdir(dir)) != NULL && count < MAX_FILES) {
        if (ent->d_name[0] == '.')
            continue;
        size_t n = strlen(ent->d_name);
        names[count] = malloc(n + 1);
        if (names[count] == NULL)
            return 1;
        memcpy(names[count], ent->d_name, n + 1);
        count++;
    }
    closedir(dir);
    qsort(names, count, sizeof *names, compare_names);

    uint64_t rng = UINT64_C(0x853C49E6748FEA9B);
    size_t files = 0, mutations = 0;
    for (size_t i = 0; i < count; i++) {
        size_t plen = strlen(dir_path) + 1 + strlen(names[i]) + 1;
        char *path = malloc(plen);
        if (path == NULL)
            return 1;
        snprintf(path, plen, "%s/%s", dir_path, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            size_t size = 0;
            uint8_t *data = read_file(path, &size);
            if (data == NULL) {
                perror(path);
                return 1;
            }
            run_one(data, size);
            run_mutations(data, size, &rng);
            files++;
            mutations += MUTATIONS_PER_FILE;
            free(data);
        }
        free(path);
        free(names[i]);
    }
    free(names);

    uint8_t noise[RANDOM_MAX_SIZE];
    for (int i = 0; i < RANDOM_INPUTS; i++) {
        size_t len = (size_t)(next_random(&rng) % (RANDOM_MAX_SIZE + 1));
        for (size_t k = 0; k < len; k++)
            noise[k] = (uint8_t)(next_random(&rng) >> 24);
        run_one(noise, len);
    }

    if (files == 0)
        fprintf(stderr, "replay: warning: no corpus files in %s\n", dir_path);
    printf("replay: %zu corpus files, %zu mutations, %d random inputs: ok\n", files,
           mutations, RANDOM_INPUTS);
    return 0;
}
