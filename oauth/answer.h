/* The user's answer at the prompt: a bare authorization code, or the whole redirect address
 * from the browser (RFC 6749 section 4.1.2), checked against the login it belongs to. */
#ifndef POK_ANSWER_H
#define POK_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

#define ANSWER_MAX_BYTES 4096

struct answer_expectations {
    const char *state;   /* the state sent with this login's authorization request */
    const char *issuer;  /* NULL: no iss check (RFC 9207) */
    bool snyk_instances; /* honour instance= for Snyk's regional API hosts */
};

struct parsed_answer {
    char *code;        /* wiped by parsed_answer_clear */
    char *instance;    /* Snyk's instance=, as pasted, when snyk_instances and it is allowed
                        * (snyk_instance_host); the module derives the token URL from it */
    char message[320]; /* on refusal: what to tell the user; holds no secret */
    bool denied;       /* on refusal: the provider's own error= (the user said no) */
};

/* 0 with code (and instance, if any) set; -1 with message set. */
int answer_parse(const char *answer, const struct answer_expectations *expect,
                 struct parsed_answer *parsed);
void parsed_answer_clear(struct parsed_answer *parsed);

#endif
