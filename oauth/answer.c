#include "config.h"

#include "oauth/answer.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/secret_memory.h"
#include "common/text_checks.h"

#define CODE_MAX_BYTES 2048

/* The redirect parameters this flow reads; each may appear at most once. */
enum answer_parameter {
    PARAM_CODE,
    PARAM_STATE,
    PARAM_ISS,
    PARAM_ERROR,
    PARAM_ERROR_DESCRIPTION,
    PARAM_INSTANCE,
    PARAM_COUNT
};
static const char *const parameter_names[PARAM_COUNT] = {
    "code", "state", "iss", "error", "error_description", "instance"};

static int refuse(struct parsed_answer *parsed, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int refuse(struct parsed_answer *parsed, const char *format, ...)
{
    va_list arguments;

    va_start(arguments, format);
    text_vset_why(parsed->message, sizeof(parsed->message), format, arguments);
    va_end(arguments);
    return -1;
}

/* A code: visible ASCII, 1 to max bytes. */
static bool is_code_text(const char *text, size_t max)
{
    size_t length = strnlen(text, max + 1);

    return length > 0 && length <= max && text_is_visible(text, length);
}

/* Whether text starts with one of the redirect's parameters, as a pasted "code=...&state=..."
 * does; a bare code may itself contain '=' (base64 padding) and is not a query. */
static bool starts_with_parameter(const char *text)
{
    for (int i = 0; i < PARAM_COUNT; i++) {
        size_t length = strlen(parameter_names[i]);
        if (strncmp(text, parameter_names[i], length) == 0 && text[length] == '=')
            return true;
    }
    return false;
}

/* The query part of the answer: after '?' up to '#' (a '?' inside the fragment does not
 * count), or the whole answer if it is a bare "code=...&state=..."; NULL for a bare code. */
static const char *find_query(const char *answer, size_t *length)
{
    size_t before_fragment = strcspn(answer, "#");
    const char *question = memchr(answer, '?', before_fragment);
    const char *query = question != NULL ? question + 1 : NULL;

    if (query == NULL && strstr(answer, "://") == NULL && starts_with_parameter(answer))
        query = answer;
    if (query != NULL)
        *length = strcspn(query, "#");
    return query;
}

static void clear_values(char **values)
{
    for (int i = 0; i < PARAM_COUNT; i++) {
        secret_free_string(&values[i]);
    }
}

static int collect_parameters(const char *query, size_t length, char **values,
                              struct parsed_answer *parsed)
{
    GUriParamsIter iterator;
    char *name = NULL, *value = NULL;
    GError *error = NULL;
    int rv = 0;

    g_uri_params_iter_init(&iterator, query, (gssize)length, "&", G_URI_PARAMS_WWW_FORM);
    while (rv == 0 && g_uri_params_iter_next(&iterator, &name, &value, &error)) {
        for (int i = 0; i < PARAM_COUNT && rv == 0; i++) {
            if (strcmp(name, parameter_names[i]) != 0)
                continue;
            if (values[i] != NULL)
                rv = refuse(parsed, "The address holds '%s' twice; it was not accepted.", name);
            else if (strlen(value) > ANSWER_MAX_BYTES ||
                     text_has_control_byte(value, strlen(value)))
                rv = refuse(parsed, "The address holds a malformed '%s'.", name);
            else
                values[i] = strdup(value);
        }
        secret_free_string(&value);
        g_free(name);
        name = NULL;
    }
    if (rv == 0 && error != NULL)
        rv = refuse(parsed, "The address is not well formed: %s.", error->message);
    g_clear_error(&error);
    return rv;
}

static int check_parameters(char **values, const struct answer_expectations *expect,
                            struct parsed_answer *parsed)
{
    char error_text[64], description[160];

    if (values[PARAM_ERROR] != NULL) {
        text_copy_printable(error_text, sizeof(error_text), values[PARAM_ERROR]);
        text_copy_printable(description, sizeof(description), values[PARAM_ERROR_DESCRIPTION]);
        parsed->denied = true;
        return refuse(parsed, "The provider did not authorize the sign-in: %s%s%s", error_text,
                      description[0] != '\0' ? ": " : "", description);
    }
    if (values[PARAM_STATE] == NULL || !secret_strings_equal(expect->state, values[PARAM_STATE]))
        return refuse(parsed, "That address belongs to another sign-in (state does not match).");
    if (expect->issuer != NULL && values[PARAM_ISS] != NULL &&
        strcmp(expect->issuer, values[PARAM_ISS]) != 0)
        return refuse(parsed, "That address comes from another issuer than the one configured.");
    if (values[PARAM_CODE] == NULL || !is_code_text(values[PARAM_CODE], CODE_MAX_BYTES))
        return refuse(parsed, "That address holds no usable code.");
    if (expect->snyk_instances && values[PARAM_INSTANCE] != NULL) {
        char host[SNYK_HOST_MAX + 1];
        if (!snyk_instance_host(values[PARAM_INSTANCE], host, sizeof(host)))
            return refuse(parsed, "That address names a Snyk instance that is not allowed.");
        parsed->instance = values[PARAM_INSTANCE];
        values[PARAM_INSTANCE] = NULL;
    }
    parsed->code = values[PARAM_CODE];
    values[PARAM_CODE] = NULL;
    return 0;
}

static int parse_redirect(const char *query, size_t length,
                          const struct answer_expectations *expect, struct parsed_answer *parsed)
{
    char *values[PARAM_COUNT] = {NULL};
    int rv = collect_parameters(query, length, values, parsed);

    if (rv == 0)
        rv = check_parameters(values, expect, parsed);
    clear_values(values);
    return rv;
}

int answer_parse(const char *answer, const struct answer_expectations *expect,
                 struct parsed_answer *parsed)
{
    char *trimmed = NULL;
    const char *query;
    size_t query_length = 0;
    int rv = -1;

    memset(parsed, 0, sizeof(*parsed));
    if (answer == NULL || expect->state == NULL ||
        strnlen(answer, ANSWER_MAX_BYTES + 1) > ANSWER_MAX_BYTES ||
        text_has_control_byte(answer, strlen(answer))) {
        refuse(parsed, "That answer is too long or holds control characters.");
        goto out;
    }
    trimmed = g_strstrip(g_strdup(answer));
    query = find_query(trimmed, &query_length);
    if (query != NULL) {
        rv = parse_redirect(query, query_length, expect, parsed);
    } else if (strstr(trimmed, "://") != NULL) {
        rv = refuse(parsed, "That address holds no code.");
    } else if (is_code_text(trimmed, CODE_MAX_BYTES)) {
        parsed->code = strdup(trimmed);
        rv = parsed->code != NULL ? 0 : refuse(parsed, "Out of memory.");
    } else {
        rv = refuse(parsed, "That is not a code or an address.");
    }
out:
    secret_free_string(&trimmed);
    if (rv != 0)
        parsed_answer_clear(parsed);
    return rv;
}

void parsed_answer_clear(struct parsed_answer *parsed)
{
    secret_free_string(&parsed->code);
    secret_free_string(&parsed->instance);
}
