/*
 * fmt.c - format checks and generators shared by the services.
 */

#include <sys/types.h>
#include <sys/random.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "fmt.h"

static int	fmt_uuid_bytes(const char *, u_int8_t *);

/* ISO 3166-1 alpha-2 officially assigned codes, sorted. */
static const char	iso3166[] =
    "AD" "AE" "AF" "AG" "AI" "AL" "AM" "AO" "AQ" "AR" "AS" "AT" "AU" "AW"
    "AX" "AZ" "BA" "BB" "BD" "BE" "BF" "BG" "BH" "BI" "BJ" "BL" "BM" "BN"
    "BO" "BQ" "BR" "BS" "BT" "BV" "BW" "BY" "BZ" "CA" "CC" "CD" "CF" "CG"
    "CH" "CI" "CK" "CL" "CM" "CN" "CO" "CR" "CU" "CV" "CW" "CX" "CY" "CZ"
    "DE" "DJ" "DK" "DM" "DO" "DZ" "EC" "EE" "EG" "EH" "ER" "ES" "ET" "FI"
    "FJ" "FK" "FM" "FO" "FR" "GA" "GB" "GD" "GE" "GF" "GG" "GH" "GI" "GL"
    "GM" "GN" "GP" "GQ" "GR" "GS" "GT" "GU" "GW" "GY" "HK" "HM" "HN" "HR"
    "HT" "HU" "ID" "IE" "IL" "IM" "IN" "IO" "IQ" "IR" "IS" "IT" "JE" "JM"
    "JO" "JP" "KE" "KG" "KH" "KI" "KM" "KN" "KP" "KR" "KW" "KY" "KZ" "LA"
    "LB" "LC" "LI" "LK" "LR" "LS" "LT" "LU" "LV" "LY" "MA" "MC" "MD" "ME"
    "MF" "MG" "MH" "MK" "ML" "MM" "MN" "MO" "MP" "MQ" "MR" "MS" "MT" "MU"
    "MV" "MW" "MX" "MY" "MZ" "NA" "NC" "NE" "NF" "NG" "NI" "NL" "NO" "NP"
    "NR" "NU" "NZ" "OM" "PA" "PE" "PF" "PG" "PH" "PK" "PL" "PM" "PN" "PR"
    "PS" "PT" "PW" "PY" "QA" "RE" "RO" "RS" "RU" "RW" "SA" "SB" "SC" "SD"
    "SE" "SG" "SH" "SI" "SJ" "SK" "SL" "SM" "SN" "SO" "SR" "SS" "ST" "SV"
    "SX" "SY" "SZ" "TC" "TD" "TF" "TG" "TH" "TJ" "TK" "TL" "TM" "TN" "TO"
    "TR" "TT" "TV" "TW" "TZ" "UA" "UG" "UM" "US" "UY" "UZ" "VA" "VC" "VE"
    "VG" "VI" "VN" "VU" "WF" "WS" "YE" "YT" "ZA" "ZM" "ZW";

static int	is_lhex(int);
static int	is_digit(int);
static int	is_alnum(int);
static int	digits(const char *, int, int *);

static int
is_lhex(int c)
{
	return ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
}

static int
is_digit(int c)
{
	return (c >= '0' && c <= '9');
}

/* ASCII only: isalnum() would follow the locale. */
static int
is_alnum(int c)
{
	return (is_digit(c) || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'));
}

/* Reads n decimal digits at s into *out; 0 if any is not a digit. */
static int
digits(const char *s, int n, int *out)
{
	int		i, v;

	v = 0;
	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return (0);
		v = v * 10 + (s[i] - '0');
	}

	*out = v;
	return (1);
}

int
fmt_uuid(const char *s)
{
	size_t		i;

	if (s == NULL || strlen(s) != FMT_UUID_LEN)
		return (0);

	for (i = 0; i < FMT_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return (0);
		} else if (!is_lhex((unsigned char)s[i])) {
			return (0);
		}
	}

	return (1);
}

int
fmt_product_id(const char *s)
{
	size_t		i, len;

	if (s == NULL)
		return (0);

	len = strlen(s);
	if (len < 2 || len > 64)
		return (0);

	for (i = 0; i < len; i++) {
		if ((s[i] >= 'A' && s[i] <= 'Z') || is_digit((unsigned char)s[i]))
			continue;
		if (s[i] == '-' && i > 0)
			continue;
		return (0);
	}

	return (1);
}

int
fmt_email(const char *s)
{
	const char	*at, *p, *dot;
	size_t		len;

	if (s == NULL)
		return (0);

	len = strlen(s);
	if (len < 3 || len > 254)
		return (0);

	if ((at = strchr(s, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return (0);

	/* Local part: 1-64 printable ASCII without spaces or specials. */
	if (at == s || at - s > 64)
		return (0);
	for (p = s; p < at; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("()<>[]:;,\\\"", *p))
			return (0);
	}
	if (s[0] == '.' || at[-1] == '.' || strstr(s, "..") != NULL)
		return (0);

	/* Domain: labels of [A-Za-z0-9-], at least one dot, sane ends. */
	p = at + 1;
	if (*p == '\0' || *p == '.' || *p == '-')
		return (0);
	dot = NULL;
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (p[-1] == '.' || p[-1] == '-' || p[1] == '-')
				return (0);
			dot = p;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    is_digit((unsigned char)*p) || *p == '-'))
			return (0);
	}

	if (dot == NULL || p[-1] == '.' || p[-1] == '-' || p - dot < 3)
		return (0);

	return (1);
}

int
fmt_country(const char *s)
{
	size_t		lo, hi, mid;
	int		r;

	if (s == NULL || strlen(s) != 2)
		return (0);
	if (s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
		return (0);

	lo = 0;
	hi = (sizeof(iso3166) - 1) / 2;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		r = strncmp(s, &iso3166[mid * 2], 2);
		if (r == 0)
			return (1);
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}

	return (0);
}

int
fmt_postal_code(const char *s)
{
	size_t		n;

	if (s == NULL || !is_alnum((unsigned char)s[0]))
		return (0);

	for (n = 0; s[n] != '\0'; n++) {
		if (n == FMT_POSTAL_MAX)
			return (0);
		if (!is_alnum((unsigned char)s[n]) && s[n] != ' ' &&
		    s[n] != '-')
			return (0);
	}

	return (1);
}

int
fmt_rfc3339(const char *s)
{
	time_t		t;

	return (fmt_rfc3339_parse(s, &t));
}

static int
days_in_month(int y, int m)
{
	static const int	mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return (29);

	return (mdays[m - 1]);
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Hinnant). */
static long long
days_from_civil(int y, int m, int d)
{
	long long	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (era * 146097 + doe - 719468);
}

int
fmt_rfc3339_parse(const char *s, time_t *out)
{
	const char	*p;
	int		y, mo, d, h, mi, sec, oh, om, sign;
	long long	t;

	if (s == NULL || strlen(s) < 20)
		return (0);

	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return (0);

	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return (0);

	p = s + 19;
	if (*p == '.') {
		p++;
		if (!is_digit((unsigned char)*p))
			return (0);
		while (is_digit((unsigned char)*p))
			p++;
	}

	oh = om = 0;
	sign = 1;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = (*p == '-') ? -1 : 1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' ||
		    !digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return (0);
		p += 6;
	} else {
		return (0);
	}

	if (*p != '\0')
		return (0);

	t = days_from_civil(y, mo, d) * 86400LL + h * 3600 + mi * 60 +
	    (sec == 60 ? 59 : sec);
	t -= sign * (oh * 3600 + om * 60);
	*out = (time_t)t;

	return (1);
}

int
fmt_request_id(const char *s)
{
	size_t		i, len;

	if (s == NULL)
		return (0);

	len = strlen(s);
	if (len < 1 || len > 64)
		return (0);

	for (i = 0; i < len; i++) {
		if ((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    is_digit((unsigned char)s[i]) ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-')
			continue;
		return (0);
	}

	return (1);
}

int
fmt_idempotency_key(const char *s)
{
	size_t		i, len;

	if (s == NULL)
		return (0);

	len = strlen(s);
	if (len < 1 || len > 128)
		return (0);

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return (0);
	}

	return (1);
}

int
fmt_uuid_generate(char *out, size_t len)
{
	u_int8_t	b[16];
	size_t		off;
	ssize_t		r;

	if (len < FMT_UUID_LEN + 1)
		return (0);

	off = 0;
	while (off < sizeof(b)) {
		r = getrandom(b + off, sizeof(b) - off, 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return (0);
		}
		off += (size_t)r;
	}

	fmt_uuid_format(b, 4, out, len);
	return (1);
}

int
fmt_uuid_v5(const char *ns, const char *name, char *out, size_t len)
{
	EVP_MD_CTX	*ctx;
	u_int8_t	nsb[16], md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen;
	int		ok;

	if (len < FMT_UUID_LEN + 1 || name == NULL || !fmt_uuid_bytes(ns, nsb))
		return (0);

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (0);
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
	    EVP_DigestUpdate(ctx, nsb, sizeof(nsb)) &&
	    EVP_DigestUpdate(ctx, name, strlen(name)) &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen >= 16;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return (0);

	fmt_uuid_format(md, 5, out, len);
	return (1);
}

/*
 * 16 bytes as a canonical lower-case UUID of the given version.  A hex
 * table, not snprintf: every request id goes through here.
 */
void
fmt_uuid_format(u_int8_t *b, int version, char *out, size_t len)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i, o;

	if (len < FMT_UUID_LEN + 1) {
		if (len > 0)
			out[0] = '\0';
		return;
	}

	b[6] = (b[6] & 0x0f) | (u_int8_t)(version << 4);
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */

	for (i = 0, o = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[o] = '\0';
}

/* A UUID in either case into its 16 bytes. */
static int
fmt_uuid_bytes(const char *s, u_int8_t *b)
{
	size_t		i, n;
	int		hi, lo;

	if (s == NULL || strlen(s) != FMT_UUID_LEN)
		return (0);

	n = 0;
	for (i = 0; i < FMT_UUID_LEN; ) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i++] != '-')
				return (0);
			continue;
		}
		if (!isxdigit((unsigned char)s[i]) ||
		    !isxdigit((unsigned char)s[i + 1]))
			return (0);
		hi = isdigit((unsigned char)s[i]) ? s[i] - '0' :
		    tolower((unsigned char)s[i]) - 'a' + 10;
		lo = isdigit((unsigned char)s[i + 1]) ? s[i + 1] - '0' :
		    tolower((unsigned char)s[i + 1]) - 'a' + 10;
		b[n++] = (u_int8_t)(hi << 4 | lo);
		i += 2;
	}

	return (n == 16);
}

/*
 * "YYYY-MM-DDTHH:MM:SS" of tm into out (20 bytes with the NUL), or 0 for
 * a year outside 0000-9999.  Digits by hand: strftime and snprintf were
 * most of a request's time stamps (issue 5).
 */
static int
fmt_rfc3339_base(char *out, const struct tm *tm)
{
	int		v[6], i, y;
	char		*p;

	y = tm->tm_year + 1900;
	if (y < 0 || y > 9999)
		return (0);

	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + (y / 100) % 10);
	out[2] = (char)('0' + (y / 10) % 10);
	out[3] = (char)('0' + y % 10);

	v[0] = tm->tm_mon + 1;
	v[1] = tm->tm_mday;
	v[2] = tm->tm_hour;
	v[3] = tm->tm_min;
	v[4] = tm->tm_sec;
	p = out + 4;
	for (i = 0; i < 5; i++) {
		*p++ = "--T::"[i];
		*p++ = (char)('0' + (v[i] / 10) % 10);
		*p++ = (char)('0' + v[i] % 10);
	}
	*p = '\0';

	return (1);
}

void
fmt_rfc3339_time(char *buf, size_t len, time_t t)
{
	struct tm	tm;
	char		tmp[FMT_RFC3339_LEN];

	if (len < 21 || gmtime_r(&t, &tm) == NULL ||
	    !fmt_rfc3339_base(tmp, &tm)) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}

	memcpy(buf, tmp, 19);
	buf[19] = 'Z';
	buf[20] = '\0';
}

void
fmt_rfc3339_ms(char *buf, size_t len, const struct timespec *ts)
{
	struct tm	tm;
	char		tmp[FMT_RFC3339_LEN];
	long		ms;

	if (len < 25 || gmtime_r(&ts->tv_sec, &tm) == NULL ||
	    !fmt_rfc3339_base(tmp, &tm)) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}

	ms = ts->tv_nsec / 1000000;
	memcpy(buf, tmp, 19);
	buf[19] = '.';
	buf[20] = (char)('0' + (ms / 100) % 10);
	buf[21] = (char)('0' + (ms / 10) % 10);
	buf[22] = (char)('0' + ms % 10);
	buf[23] = 'Z';
	buf[24] = '\0';
}
