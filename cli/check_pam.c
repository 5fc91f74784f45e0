/* oauth-keyring check: the PAM stacks. Every file under the PAM directory is read as libpam
 * reads it (a line: [-]type control module [arguments]; `@include FILE`; a control of
 * `include` or `substack` takes FILE's lines of that type), flattened per service, and
 * judged for where the module sits. Nothing is ever written there. */
#include "config.h"

#include <dirent.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/check.h"

#define MODULE_NAME "pam_oauth_keyring"
#define INCLUDE_DEPTH_MAX 16

enum pam_phase { PHASE_AUTH, PHASE_ACCOUNT, PHASE_PASSWORD, PHASE_SESSION, PHASE_COUNT };
static const char *const phase_names[PHASE_COUNT] = {"auth", "account", "password", "session"};

/* One line of a flattened stack, and where it was written. */
struct stack_line {
    char *control; /* "required", "[success=1 default=ignore]" */
    char *module;  /* the module's file name, without its directory */
    char *arguments;
    char *origin; /* "common-auth:25" */
};

/* One service: its flattened lines per phase. */
struct service_stack {
    const char *pam_dir;
    GPtrArray *lines[PHASE_COUNT];
};

static void stack_line_free(void *data)
{
    struct stack_line *line = data;

    g_free(line->control);
    g_free(line->module);
    g_free(line->arguments);
    g_free(line->origin);
    g_free(line);
}

static int phase_from_name(const char *name)
{
    if (name[0] == '-')
        name++;
    for (int phase = 0; phase < PHASE_COUNT; phase++) {
        if (strcasecmp(name, phase_names[phase]) == 0)
            return phase;
    }
    return -1;
}

/* Splits a line into words; a control in [brackets] is one word even with blanks in it. */
static GPtrArray *split_words(const char *text)
{
    GPtrArray *words = g_ptr_array_new_with_free_func(g_free);
    const char *position = text;

    while (*position != '\0') {
        const char *start;
        while (*position == ' ' || *position == '\t')
            position++;
        if (*position == '\0')
            break;
        start = position;
        if (*position == '[') {
            while (*position != '\0' && *position != ']')
                position++;
            if (*position == ']')
                position++;
        } else {
            while (*position != '\0' && *position != ' ' && *position != '\t')
                position++;
        }
        g_ptr_array_add(words, g_strndup(start, (gsize)(position - start)));
    }
    return words;
}

static void read_stack(struct service_stack *stack, const char *file, int only_phase, int depth);

static void add_line(struct service_stack *stack, int phase, GPtrArray *words, const char *origin)
{
    struct stack_line *line = g_new0(struct stack_line, 1);
    GString *arguments = g_string_new(NULL);

    for (guint i = 3; i < words->len; i++)
        g_string_append_printf(arguments, "%s%s", i > 3 ? " " : "",
                               (const char *)g_ptr_array_index(words, i));
    line->control = g_strdup(g_ptr_array_index(words, 1));
    line->module = g_path_get_basename(g_ptr_array_index(words, 2));
    line->arguments = g_string_free(arguments, FALSE);
    line->origin = g_strdup(origin);
    g_ptr_array_add(stack->lines[phase], line);
}

/* One line of a file: included lines are read in its place. */
static void read_line(struct service_stack *stack, const char *file, unsigned number, char *text,
                      int only_phase, int depth)
{
    char *comment = strchr(text, '#');
    char origin[300];
    GPtrArray *words;
    int phase;

    if (comment != NULL)
        *comment = '\0';
    words = split_words(text);
    snprintf(origin, sizeof(origin), "%s:%u", file, number);
    if (words->len >= 2 && strcmp(g_ptr_array_index(words, 0), "@include") == 0) {
        read_stack(stack, g_ptr_array_index(words, 1), only_phase, depth + 1);
        goto out;
    }
    if (words->len < 3)
        goto out;
    phase = phase_from_name(g_ptr_array_index(words, 0));
    if (phase < 0 || (only_phase >= 0 && phase != only_phase))
        goto out;
    if (strcmp(g_ptr_array_index(words, 1), "include") == 0 ||
        strcmp(g_ptr_array_index(words, 1), "substack") == 0)
        read_stack(stack, g_ptr_array_index(words, 2), phase, depth + 1);
    else
        add_line(stack, phase, words, origin);
out:
    g_ptr_array_free(words, TRUE);
}

/* The lines of file (a name under the PAM directory, or an absolute path), of only_phase
 * (-1: every phase), in order. */
static void read_stack(struct service_stack *stack, const char *file, int only_phase, int depth)
{
    char *path = file[0] == '/' ? g_strdup(file) : g_build_filename(stack->pam_dir, file, NULL);
    char *contents = NULL, **lines;

    if (depth > INCLUDE_DEPTH_MAX || !g_file_get_contents(path, &contents, NULL, NULL)) {
        g_free(path);
        return;
    }
    lines = g_strsplit(contents, "\n", -1);
    for (unsigned i = 0; lines[i] != NULL; i++) {
        /* libpam joins a line ending in a backslash with the next one. */
        unsigned first = i;
        GString *joined = g_string_new(lines[i]);
        while (joined->len > 0 && joined->str[joined->len - 1] == '\\' && lines[i + 1] != NULL) {
            g_string_truncate(joined, joined->len - 1);
            g_string_append_printf(joined, " %s", lines[++i]);
        }
        read_line(stack, file, first + 1, joined->str, only_phase, depth);
        g_string_free(joined, TRUE);
    }
    g_strfreev(lines);
    g_free(contents);
    g_free(path);
}

static bool is_ours(const struct stack_line *line)
{
    return strncmp(line->module, MODULE_NAME ".so", sizeof(MODULE_NAME ".so")) == 0;
}

/* The modules that check a password (or another first factor) on Debian and its relatives. */
static bool checks_password(const struct stack_line *line)
{
    static const char *const modules[] = {"pam_unix.so", "pam_sss.so",     "pam_ldap.so",
                                          "pam_krb5.so", "pam_winbind.so", "pam_systemd_home.so",
                                          "pam_u2f.so",  "pam_fprintd.so"};

    for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
        if (strcmp(line->module, modules[i]) == 0)
            return true;
    }
    return false;
}

/* A line that ends the stack at once on failure: requisite, or a bracket saying die. */
static bool ends_on_failure(const struct stack_line *line)
{
    return strcmp(line->control, "requisite") == 0 ||
           (line->control[0] == '[' && strstr(line->control, "=die") != NULL);
}

static int first_ours(const GPtrArray *lines)
{
    for (guint i = 0; i < lines->len; i++) {
        if (is_ours(g_ptr_array_index(lines, i)))
            return (int)i;
    }
    return -1;
}

static bool has_module(const GPtrArray *lines, const char *module)
{
    for (guint i = 0; i < lines->len; i++) {
        if (strcmp(((struct stack_line *)g_ptr_array_index(lines, i))->module, module) == 0)
            return true;
    }
    return false;
}

/* Auth: after the password check, which a requisite line must end on failure. */
static void judge_auth(struct check_report *report, const char *service, const GPtrArray *lines)
{
    int ours = first_ours(lines), password = -1;
    bool ended = false;
    const struct stack_line *line = g_ptr_array_index(lines, ours);

    for (int i = 0; i < ours; i++) {
        const struct stack_line *before = g_ptr_array_index(lines, i);
        if (password < 0 && checks_password(before))
            password = i;
        if (password >= 0 && ends_on_failure(before))
            ended = true;
    }
    if (strcmp(service, "sshd") == 0)
        check_add(report, "pam.sshd", CHECK_WARN,
                  "remove the auth line from sshd; keep the session line, sign in with "
                  "`oauth-keyring login` in the ssh session",
                  "sshd has an auth line (%s), which cannot work there: OpenSSH holds "
                  "PAM_TEXT_INFO back until the next prompt (the address is never shown), and "
                  "may run auth and session in different processes (the code does not reach "
                  "the session); key logins run no auth at all",
                  line->origin);
    else if (password < 0 || password > ours)
        check_add(report, "pam.auth_order", CHECK_WARN,
                  "move the auth line after the password check (after @include common-auth)",
                  "%s: the module's auth (%s) comes before the password check: anyone at the "
                  "prompt is shown the sign-in before the password is proven",
                  service, line->origin);
    else if (!ended)
        check_add(report, "pam.auth_order", CHECK_WARN,
                  "end the password check with `auth requisite pam_deny.so` (Debian's "
                  "common-auth does) or make it requisite",
                  "%s: no requisite line ends the stack after a failed password before the "
                  "module's auth (%s): a wrong password still gets the code prompt",
                  service, line->origin);
    else
        check_add(report, "pam.auth_order", CHECK_PASS, NULL,
                  "%s: auth after the password check, which a requisite line ends on failure",
                  service);
}

static void judge_session(struct check_report *report, const char *service, const GPtrArray *lines)
{
    if (has_module(lines, "pam_gnome_keyring.so"))
        check_add(report, "pam.keyring", CHECK_PASS, NULL,
                  "%s: pam_gnome_keyring.so is in the session stack", service);
    else
        check_add(report, "pam.keyring", CHECK_WARN,
                  "add `session optional pam_gnome_keyring.so auto_start` (and its auth line) "
                  "before the module's session line",
                  "%s: no pam_gnome_keyring.so session line: the login keyring is not unlocked, "
                  "so the module finds it locked and stores nothing",
                  service);
}

/* "auth 5/7 (common-auth:26), session 9/9 (login:40)" */
static char *describe_places(const struct service_stack *stack)
{
    GString *text = g_string_new(NULL);

    for (int phase = 0; phase < PHASE_COUNT; phase++) {
        const GPtrArray *lines = stack->lines[phase];
        int ours = first_ours(lines);
        if (ours < 0)
            continue;
        g_string_append_printf(text, "%s%s %d/%u (%s)", text->len > 0 ? ", " : "",
                               phase_names[phase], ours + 1, lines->len,
                               ((struct stack_line *)g_ptr_array_index(lines, ours))->origin);
    }
    return g_string_free(text, FALSE);
}

/* The value of NAME= among a line's arguments (a new string), or NULL. */
static char *argument_value(const char *arguments, const char *name)
{
    char **words = g_strsplit(arguments, " ", -1);
    size_t length = strlen(name);
    char *value = NULL;

    for (size_t i = 0; words[i] != NULL && value == NULL; i++) {
        if (strncmp(words[i], name, length) == 0 && words[i][length] == '=')
            value = g_strdup(words[i] + length + 1);
    }
    g_strfreev(words);
    return value;
}

/* The configuration the module's lines read: one path for the check to read, unless they
 * name several. */
static void note_config_path(const struct stack_line *line, struct pam_findings *findings)
{
    char *path = argument_value(line->arguments, "config");

    if (path != NULL && findings->config_path == NULL && !findings->config_paths_differ)
        findings->config_path = g_strdup(path);
    else if (path != NULL && findings->config_path != NULL &&
             strcmp(path, findings->config_path) != 0)
        findings->config_paths_differ = true;
    g_free(path);
}

/* The auth and session lines of one service must read the same provider (recipes.md): else
 * the code of one is spent with the settings of another. */
static void judge_arguments(struct check_report *report, const char *service,
                            const struct service_stack *stack)
{
    static const char *const names[] = {"config", "provider", "state_dir"};
    const struct stack_line *first = NULL;

    for (int phase = 0; phase < PHASE_COUNT; phase++) {
        int ours = first_ours(stack->lines[phase]);
        const struct stack_line *line =
            ours >= 0 ? g_ptr_array_index(stack->lines[phase], ours) : NULL;
        if (line == NULL || first == NULL) {
            first = first != NULL ? first : line;
            continue;
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            char *mine = argument_value(line->arguments, names[i]);
            char *theirs = argument_value(first->arguments, names[i]);
            if (g_strcmp0(mine, theirs) != 0)
                check_add(report, "pam.arguments", CHECK_WARN,
                          "give every line of the service the same config=, provider= and "
                          "state_dir=",
                          "%s: %s=%s at %s but %s=%s at %s", service, names[i],
                          theirs != NULL ? theirs : "(default)", first->origin, names[i],
                          mine != NULL ? mine : "(default)", line->origin);
            g_free(mine);
            g_free(theirs);
        }
    }
}

/* Lines in shared stacks without only_if=, each reported once (seen holds their origins). */
static void judge_shared(struct check_report *report, const struct service_stack *stack,
                         GHashTable *seen, struct pam_findings *findings)
{
    for (int phase = 0; phase < PHASE_COUNT; phase++) {
        for (guint i = 0; i < stack->lines[phase]->len; i++) {
            const struct stack_line *line = g_ptr_array_index(stack->lines[phase], i);
            if (!is_ours(line) || g_hash_table_contains(seen, line->origin))
                continue;
            g_hash_table_add(seen, g_strdup(line->origin));
            note_config_path(line, findings);
            if (strstr(line->arguments, "desktop_signin=no") == NULL)
                findings->desktop_signin_no = false;
            if (strncmp(line->origin, "common-", 7) == 0 &&
                strstr(line->arguments, "only_if=") == NULL)
                check_add(report, "pam.shared_stack", CHECK_WARN,
                          "add only_if=SERVICE[,SERVICE...] to the line (docs/recipes.md)",
                          "%s: the module's %s line is in a shared stack without only_if=: "
                          "sudo, su, cron, polkit and screen lockers run it too",
                          line->origin, phase_names[phase]);
        }
    }
}

static void judge_service(struct check_report *report, const char *service,
                          struct service_stack *stack, GHashTable *seen,
                          struct pam_findings *findings)
{
    char *places = describe_places(stack);

    check_add(report, "pam.service", CHECK_PASS, NULL, "%s: %s", service, places);
    judge_shared(report, stack, seen, findings);
    judge_arguments(report, service, stack);
    if (first_ours(stack->lines[PHASE_AUTH]) >= 0)
        judge_auth(report, service, stack->lines[PHASE_AUTH]);
    if (first_ours(stack->lines[PHASE_SESSION]) >= 0)
        judge_session(report, service, stack->lines[PHASE_SESSION]);
    g_free(places);
}

static bool reaches_module(const struct service_stack *stack)
{
    for (int phase = 0; phase < PHASE_COUNT; phase++) {
        if (first_ours(stack->lines[phase]) >= 0)
            return true;
    }
    return false;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void check_pam_stacks(struct check_report *report, const char *pam_dir,
                      struct pam_findings *findings)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    DIR *directory = opendir(pam_dir);
    struct dirent *entry;
    unsigned served = 0;

    findings->desktop_signin_no = true;
    findings->config_path = NULL;
    findings->config_paths_differ = false;
    while (directory != NULL && (entry = readdir(directory)) != NULL) {
        /* common-* are the stacks others include, not services; dpkg leaves backups. */
        if (entry->d_name[0] != '.' && strncmp(entry->d_name, "common-", 7) != 0 &&
            strchr(entry->d_name, '~') == NULL && strstr(entry->d_name, ".dpkg-") == NULL)
            g_ptr_array_add(names, g_strdup(entry->d_name));
    }
    if (directory != NULL)
        closedir(directory);
    qsort(names->pdata, names->len, sizeof(void *), compare_strings);
    for (guint i = 0; i < names->len; i++) {
        struct service_stack stack = {.pam_dir = pam_dir};
        for (int phase = 0; phase < PHASE_COUNT; phase++)
            stack.lines[phase] = g_ptr_array_new_with_free_func(stack_line_free);
        read_stack(&stack, g_ptr_array_index(names, i), -1, 0);
        if (reaches_module(&stack)) {
            served++;
            judge_service(report, g_ptr_array_index(names, i), &stack, seen, findings);
        }
        for (int phase = 0; phase < PHASE_COUNT; phase++)
            g_ptr_array_free(stack.lines[phase], TRUE);
    }
    findings->module_found = served > 0;
    if (served == 0)
        findings->desktop_signin_no = false;
    if (directory == NULL)
        check_add(report, "pam.services", CHECK_FAIL, "name the directory with --pam-dir",
                  "cannot read %s", pam_dir);
    else if (findings->config_paths_differ)
        check_add(report, "pam.config", CHECK_WARN, "check each configuration named with --config",
                  "the module's lines name several config= files; checking %s",
                  findings->config_path);
    else if (served == 0)
        check_add(report, "pam.services", CHECK_WARN,
                  "add the module's lines to the services that should sign in "
                  "(docs/recipes.md)",
                  "no service under %s reaches %s.so: no login is served", pam_dir, MODULE_NAME);
    g_hash_table_destroy(seen);
    g_ptr_array_free(names, TRUE);
}
