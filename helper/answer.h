/* The user's answer at the prompt: a bare authorization code, or the whole redirect address
 * from the browser (RFC 6749 section 4.1.2), checked against the login it belongs to. */
#ifndef POK_ANSWER_H
#define POK_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

#define ANSWER_MAX_BYTES 4096

struct answer_expectations {
    const char *state;     /* the state sent with this login's authorization request */
    const char *issuer;    /* NULL: no iss check (RFC 9207) */
    const char *token_url; /* the configured token endpoint */
    bool snyk_instances;   /* honour instance= for Snyk's regional API hosts */
};

struct parsed_answer {
    char *code;        /* wiped by parsed_answer_clear */
    char *token_url;   /* where to spend the code: the configured one or a Snyk region's */
    char message[320]; /* on refusal: what to tell the user; holds no secret */
};

/* 0 with code and token_url set; -1 with message set. */
int answer_parse(const char *answer, const struct answer_expectations *expect,
                 struct parsed_answer *parsed);
void parsed_answer_clear(struct parsed_answer *parsed);

/* The token endpoint for a Snyk instance= value (a host or https URL) when it is an api. host
 * under snyk.io or snykgov.io; NULL otherwise. New string (g_free). */
char *snyk_instance_token_url(const char *instance);

#endif
