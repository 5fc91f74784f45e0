#include "config.h"

#include "cli/token_output.h"

#include <stdio.h>
#include <string.h>

const char *token_variable_for(const char *preset)
{
    return preset != NULL && strcmp(preset, "snyk") == 0 ? "SNYK_OAUTH_TOKEN"
                                                         : "OAUTH_ACCESS_TOKEN";
}

static void print_shell_quoted(const char *text)
{
    putchar('\'');
    for (; *text != '\0'; text++) {
        if (*text == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*text);
    }
    putchar('\'');
}

void print_export(const char *name, const char *token)
{
    printf("export %s=", name);
    print_shell_quoted(token);
    putchar('\n');
}
