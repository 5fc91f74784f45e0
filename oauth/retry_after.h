/* A Retry-After header's value (RFC 9110 10.2.3): delay-seconds or an HTTP-date, parsed
 * strictly. Pure: the caller gives the time, so the unit tests can. */
#ifndef POK_RETRY_AFTER_H
#define POK_RETRY_AFTER_H

/* The longest value the transport keeps (an HTTP-date is 29 bytes); longer is ignored. */
#define RETRY_AFTER_VALUE_MAX 63
/* A wait beyond this (a day) is taken as this: the number fits anywhere it travels. */
#define RETRY_AFTER_PARSE_MAX_SECONDS 86400

/* The seconds to wait from now (Unix seconds) into *seconds: "120", or a date such as
 * "Sun, 06 Nov 1994 08:49:37 GMT" (also the obsolete RFC 850 and asctime forms, which a
 * recipient must accept); a date in the past is 0. -1, *seconds untouched, for anything else:
 * signs, spaces inside, fractions, a zone other than GMT, an impossible date. */
int retry_after_parse(const char *value, long long now, long *seconds);

#endif
