/* Only in --enable-sanitizers builds. Our processes make themselves non-dumpable, and
 * LeakSanitizer needs to ptrace the process at exit, which non-dumpable forbids; it would
 * turn every clean exit into a failure. Memory errors still abort at once (ASan, UBSan);
 * leaks are checked under valgrind instead (tests/login_cycles.sh). */
#include "config.h"

#ifdef POK_SANITIZERS
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0:abort_on_error=1";
}
#endif
