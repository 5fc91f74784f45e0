/* Retry-After (see retry_after.h): each of the three date forms is matched character by
 * character against its fixed layout, so nothing locale- or time-zone-dependent is involved. */
#include "config.h"

#include "oauth/retry_after.h"

#include <stdbool.h>
#include <string.h>

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_names[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const long_day_names[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                              "Friday", "Saturday", "Sunday"};

struct http_date {
    int year, month, day, hour, minute, second; /* month 1-12 */
};

/* count digits at text into *value; false unless they are all digits. */
static bool take_digits(const char *text, int count, int *value)
{
    *value = 0;
    for (int i = 0; i < count; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        *value = *value * 10 + (text[i] - '0');
    }
    return true;
}

/* The index of the name text starts with (exactly length bytes), or -1. */
static int name_index(const char *text, size_t length, const char *const *names, int count)
{
    for (int i = 0; i < count; i++) {
        if (strlen(names[i]) == length && strncmp(text, names[i], length) == 0)
            return i;
    }
    return -1;
}

static bool take_month(const char *text, int *month)
{
    *month = name_index(text, 3, month_names, 12) + 1;
    return *month > 0;
}

/* "HH:MM:SS" */
static bool take_time(const char *text, struct http_date *date)
{
    return take_digits(text, 2, &date->hour) && text[2] == ':' &&
           take_digits(text + 3, 2, &date->minute) && text[5] == ':' &&
           take_digits(text + 6, 2, &date->second);
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool parse_imf_fixdate(const char *text, struct http_date *date)
{
    return strlen(text) == 29 && name_index(text, 3, day_names, 7) >= 0 &&
           strncmp(text + 3, ", ", 2) == 0 && take_digits(text + 5, 2, &date->day) &&
           text[7] == ' ' && take_month(text + 8, &date->month) && text[11] == ' ' &&
           take_digits(text + 12, 4, &date->year) && text[16] == ' ' &&
           take_time(text + 17, date) && strcmp(text + 25, " GMT") == 0;
}

/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year is 19xx from 70 on. */
static bool parse_rfc850_date(const char *text, struct http_date *date)
{
    const char *comma = strchr(text, ',');
    const char *rest = comma != NULL ? comma + 1 : NULL;

    if (rest == NULL || name_index(text, (size_t)(comma - text), long_day_names, 7) < 0 ||
        strlen(rest) != 23)
        return false;
    if (!(rest[0] == ' ' && take_digits(rest + 1, 2, &date->day) && rest[3] == '-' &&
          take_month(rest + 4, &date->month) && rest[7] == '-' &&
          take_digits(rest + 8, 2, &date->year) && rest[10] == ' ' && take_time(rest + 11, date) &&
          strcmp(rest + 19, " GMT") == 0))
        return false;
    date->year += date->year >= 70 ? 1900 : 2000;
    return true;
}

/* asctime-date: "Sun Nov  6 08:49:37 1994" (a day below 10 padded with a space or a zero) */
static bool parse_asctime_date(const char *text, struct http_date *date)
{
    int tens = 0, units = 0;

    if (strlen(text) != 24 || name_index(text, 3, day_names, 7) < 0 || text[3] != ' ' ||
        !take_month(text + 4, &date->month) || text[7] != ' ')
        return false;
    if (!(text[8] == ' ' || take_digits(text + 8, 1, &tens)) || !take_digits(text + 9, 1, &units))
        return false;
    date->day = tens * 10 + units;
    return text[10] == ' ' && take_time(text + 11, date) && text[19] == ' ' &&
           take_digits(text + 20, 4, &date->year);
}

static bool is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static bool date_is_possible(const struct http_date *date)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int days = month_days[date->month - 1] + (date->month == 2 && is_leap_year(date->year));

    return date->year >= 1970 && date->day >= 1 && date->day <= days && date->hour <= 23 &&
           date->minute <= 59 && date->second <= 60;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long long days_since_epoch(int year, int month, int day)
{
    long long y = month <= 2 ? year - 1 : year;
    long long era = y / 400;
    long long year_of_era = y - era * 400;
    long long day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long long day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

    return era * 146097 + day_of_era - 719468;
}

static long capped(long long seconds)
{
    if (seconds < 0)
        return 0;
    return seconds > RETRY_AFTER_PARSE_MAX_SECONDS ? RETRY_AFTER_PARSE_MAX_SECONDS : (long)seconds;
}

/* delay-seconds: 1*DIGIT; more digits than a day needs are a long wait, not an error. */
static bool parse_delay_seconds(const char *value, long *seconds)
{
    size_t length = strlen(value);
    long long total = 0;

    if (length == 0 || strspn(value, "0123456789") != length)
        return false;
    for (size_t i = 0; i < length && total <= RETRY_AFTER_PARSE_MAX_SECONDS; i++)
        total = total * 10 + (value[i] - '0');
    *seconds = capped(total);
    return true;
}

int retry_after_parse(const char *value, long long now, long *seconds)
{
    struct http_date date = {0};
    long long at;

    if (value == NULL || strlen(value) > RETRY_AFTER_VALUE_MAX)
        return -1;
    if (parse_delay_seconds(value, seconds))
        return 0;
    if (!parse_imf_fixdate(value, &date) && !parse_rfc850_date(value, &date) &&
        !parse_asctime_date(value, &date))
        return -1;
    if (!date_is_possible(&date))
        return -1;
    at = days_since_epoch(date.year, date.month, date.day) * 86400LL + date.hour * 3600LL +
         date.minute * 60LL + date.second;
    *seconds = capped(at - now);
    return 0;
}
