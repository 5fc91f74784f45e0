/* What every harness under fuzz/ uses to state a property of the code under test.
 *
 * CHECK is not assert(): it stays on whatever NDEBUG says, and it names the property that
 * failed before it aborts, so libFuzzer reports a crash, saves the input and the log says
 * which promise of the header was broken. The harnesses never call exit(): libFuzzer runs
 * them in one process, and only abort() (or a sanitizer) ends a run with a saved input. */
#ifndef POK_FUZZ_CHECK_H
#define POK_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(condition)                                                                           \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #condition);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
