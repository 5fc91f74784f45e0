/* How oauth-keyring hands a token to tools, shared by the front end (cli/front.c) and the
 * full CLI so both print exactly the same. Plain libc. */
#ifndef POK_TOKEN_OUTPUT_H
#define POK_TOKEN_OUTPUT_H

/* The variable a tool of this provider reads its token from: Snyk's CLI takes a raw OAuth
 * access token from SNYK_OAUTH_TOKEN; the preset ("snyk" or NULL) is recorded in the refresh
 * item. */
const char *token_variable_for(const char *preset);

/* env's line on stdout: export NAME='token', single-quoted for any shell. */
void print_export(const char *name, const char *token);

#endif
