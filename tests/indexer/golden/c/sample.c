/* A small file exercising every definition and include form we extract. */
#include <stdio.h>
#include "util/list.h"
#include "config.h"

#define MAX_ITEMS 64
#define SQUARE(x) ((x) * (x))

typedef unsigned long size_type;

struct node {
    int value;
    struct node *next;
};

typedef struct {
    char *name;
    size_type length;
} buffer_t;

enum color { RED, GREEN };

union number {
    int i;
    float f;
};

static int counter = 0;
const char *greeting = "hello";

int add(int a, int b);

static char *
dup_name(const char *name)
{
    return strdup(name);
}

int main(int argc, char **argv)
{
    struct node head = { .value = SQUARE(argc) };
    printf("%d %s\n", add(head.value, MAX_ITEMS), dup_name(argv[0]));
    return 0;
}

typedef struct list {
    struct list *next;
} list_t;
