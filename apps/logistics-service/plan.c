/*
 * plan.c - shipment planning: data file, locations, nearest warehouse,
 * carrier, ETA, deterministic ids (see plan.h for the rules).
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fmt.h"
#include "plan.h"

#define EARTH_RADIUS_KM		6371.0
#define PLAN_FILE_MAX		(256 * 1024)
#define PLAN_TOKENS		8

static int	parse_line(struct plan_data *, char *, char *, size_t);
static int	parse_double(const char *, double, double, double *);
static int	parse_u32(const char *, u_int32_t *);
static int	name_ok(const char *);
static int	plan_country(const char *);

int
plan_parse(struct plan_data *d, const char *text, size_t len, char *err,
    size_t errlen)
{
	char		line[512], why[128];
	size_t		i, start, n, lineno;
	int		level, reach[PLAN_LEVELS];

	memset(d, 0, sizeof(*d));
	lineno = 0;
	start = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && text[i] != '\n')
			continue;
		lineno++;
		n = i - start;
		if (n >= sizeof(line)) {
			(void)snprintf(err, errlen, "line %zu: too long",
			    lineno);
			return (0);
		}
		memcpy(line, text + start, n);
		line[n] = '\0';
		start = i + 1;
		if (!parse_line(d, line, why, sizeof(why))) {
			(void)snprintf(err, errlen, "line %zu: %s", lineno,
			    why);
			return (0);
		}
	}

	if (d->nwarehouses == 0) {
		(void)snprintf(err, errlen, "no warehouse");
		return (0);
	}

	/* Every place on earth has a carrier at every level. */
	reach[0] = reach[1] = 0;
	for (i = 0; i < d->ncarriers; i++) {
		if (d->carriers[i].max_km >= PLAN_FULL_REACH_KM)
			reach[d->carriers[i].level] = 1;
	}
	for (level = 0; level < PLAN_LEVELS; level++) {
		if (!reach[level]) {
			(void)snprintf(err, errlen, "no %s carrier reaching "
			    "%d km", plan_level_name(level),
			    PLAN_FULL_REACH_KM);
			return (0);
		}
	}

	return (1);
}

int
plan_load(struct plan_data *d, const char *path, char *err, size_t errlen)
{
	char		*buf;
	ssize_t		r;
	size_t		off;
	int		fd, ok;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (0);
	}

	if ((buf = malloc(PLAN_FILE_MAX)) == NULL) {
		(void)close(fd);
		(void)snprintf(err, errlen, "out of memory");
		return (0);
	}

	off = 0;
	for (;;) {
		r = read(fd, buf + off, PLAN_FILE_MAX - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
		if (off == PLAN_FILE_MAX)
			break;
	}
	(void)close(fd);

	if (r == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		ok = 0;
	} else if (off == PLAN_FILE_MAX) {
		(void)snprintf(err, errlen, "%s: larger than %d bytes", path,
		    PLAN_FILE_MAX);
		ok = 0;
	} else {
		ok = plan_parse(d, buf, off, err, errlen);
	}

	free(buf);
	return (ok);
}

static int
parse_line(struct plan_data *d, char *line, char *why, size_t len)
{
	char			*tok[PLAN_TOKENS], *p;
	int			n;
	struct plan_warehouse	*w;
	struct plan_region	*rg;
	struct plan_carrier	*c;
	int			c_idx;

	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';

	n = 0;
	for (p = strtok(line, " \t\r"); p != NULL; p = strtok(NULL, " \t\r")) {
		if (n == PLAN_TOKENS) {
			(void)snprintf(why, len, "too many fields");
			return (0);
		}
		tok[n++] = p;
	}
	if (n == 0)
		return (1);

	if (!strcmp(tok[0], "warehouse")) {
		if (n != 4) {
			(void)snprintf(why, len, "warehouse <id> <lat> <lon>");
			return (0);
		}
		if (d->nwarehouses == PLAN_WAREHOUSES_MAX) {
			(void)snprintf(why, len, "too many warehouses");
			return (0);
		}
		w = &d->warehouses[d->nwarehouses];
		if (!name_ok(tok[1]) || !parse_double(tok[2], -90, 90,
		    &w->lat) || !parse_double(tok[3], -180, 180, &w->lon)) {
			(void)snprintf(why, len, "bad warehouse");
			return (0);
		}
		(void)snprintf(w->id, sizeof(w->id), "%s", tok[1]);
		d->nwarehouses++;
		return (1);
	}

	if (!strcmp(tok[0], "region")) {
		if (n != 5) {
			(void)snprintf(why, len,
			    "region <country> <prefix|*> <lat> <lon>");
			return (0);
		}
		if (d->nregions == PLAN_REGIONS_MAX) {
			(void)snprintf(why, len, "too many regions");
			return (0);
		}
		rg = &d->regions[d->nregions];
		if ((c_idx = plan_country(tok[1])) == -1 ||
		    (strcmp(tok[2], "*") && (strlen(tok[2]) >=
		    sizeof(rg->prefix) || !fmt_postal_code(tok[2]))) ||
		    !parse_double(tok[3], -90, 90, &rg->lat) ||
		    !parse_double(tok[4], -180, 180, &rg->lon)) {
			(void)snprintf(why, len, "bad region");
			return (0);
		}
		(void)snprintf(rg->country, sizeof(rg->country), "%s", tok[1]);
		if (strcmp(tok[2], "*"))
			(void)snprintf(rg->prefix, sizeof(rg->prefix), "%s",
			    tok[2]);
		if (d->last[c_idx] == 0)
			d->first[c_idx] = d->nregions + 1;
		else
			d->regions[d->last[c_idx] - 1].next = d->nregions + 1;
		d->last[c_idx] = d->nregions + 1;
		d->nregions++;
		return (1);
	}

	if (!strcmp(tok[0], "carrier")) {
		if (n != 6) {
			(void)snprintf(why, len, "carrier <level> <max km> "
			    "<name> <base hours> <km per hour>");
			return (0);
		}
		if (d->ncarriers == PLAN_CARRIERS_MAX) {
			(void)snprintf(why, len, "too many carriers");
			return (0);
		}
		c = &d->carriers[d->ncarriers];
		if ((c->level = plan_level(tok[1])) == -1 ||
		    !parse_u32(tok[2], &c->max_km) || !name_ok(tok[3]) ||
		    !parse_u32(tok[4], &c->base_hours) ||
		    !parse_u32(tok[5], &c->km_per_hour) ||
		    c->base_hours > 24 * 90) {
			(void)snprintf(why, len, "bad carrier");
			return (0);
		}
		(void)snprintf(c->name, sizeof(c->name), "%s", tok[3]);
		d->ncarriers++;
		return (1);
	}

	(void)snprintf(why, len, "unknown entry '%.32s'", tok[0]);
	return (0);
}

int
plan_locate(const struct plan_data *d, const char *country,
    const char *postal, double *lat, double *lon)
{
	char			norm[FMT_POSTAL_MAX + 1];
	const struct plan_region *best, *rg;
	size_t			i, n, plen, bestlen;
	int			c_idx;

	if (country == NULL || postal == NULL || !fmt_postal_code(postal))
		return (PLAN_BAD_POSTAL);

	/* Upper case, without spaces and dashes: "sw1a 1aa" -> "SW1A1AA". */
	for (n = 0; *postal != '\0' && n < sizeof(norm) - 1; postal++) {
		if (*postal == ' ' || *postal == '-')
			continue;
		norm[n++] = (char)toupper((unsigned char)*postal);
	}
	norm[n] = '\0';

	if ((c_idx = plan_country(country)) == -1 || d->first[c_idx] == 0)
		return (PLAN_UNKNOWN_COUNTRY);

	best = NULL;
	bestlen = 0;
	for (i = d->first[c_idx]; i != 0; i = rg->next) {
		rg = &d->regions[i - 1];
		plen = strlen(rg->prefix);
		if (plen > n || strncasecmp(norm, rg->prefix, plen))
			continue;
		if (best == NULL || plen > bestlen) {
			best = rg;
			bestlen = plen;
		}
	}

	/* The country is served, but not this postal area. */
	if (best == NULL)
		return (PLAN_BAD_POSTAL);

	*lat = best->lat;
	*lon = best->lon;
	return (PLAN_OK);
}

double
plan_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	double		p1, p2, dp, dl, a;

	p1 = lat1 * M_PI / 180.0;
	p2 = lat2 * M_PI / 180.0;
	dp = (lat2 - lat1) * M_PI / 180.0;
	dl = (lon2 - lon1) * M_PI / 180.0;

	a = sin(dp / 2) * sin(dp / 2) +
	    cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
	if (a > 1.0)
		a = 1.0;

	return (2.0 * EARTH_RADIUS_KM * asin(sqrt(a)));
}

int
plan_route(const struct plan_data *d, double lat, double lon, int level,
    struct plan_result *r)
{
	double		km, best;
	size_t		i;

	if (level < 0 || level >= PLAN_LEVELS || d->nwarehouses == 0)
		return (0);

	memset(r, 0, sizeof(*r));
	best = 0;
	for (i = 0; i < d->nwarehouses; i++) {
		km = plan_distance_km(d->warehouses[i].lat,
		    d->warehouses[i].lon, lat, lon);
		/* Strictly nearer: a tie keeps the one listed first. */
		if (r->origin == NULL || km < best) {
			r->origin = &d->warehouses[i];
			best = km;
		}
	}
	r->distance_km = (u_int32_t)lround(best);

	for (i = 0; i < d->ncarriers; i++) {
		if (d->carriers[i].level == level &&
		    d->carriers[i].max_km >= r->distance_km) {
			r->carrier = &d->carriers[i];
			break;
		}
	}
	if (r->carrier == NULL)
		return (0);

	r->transit_hours = r->carrier->base_hours;
	if (r->carrier->km_per_hour > 0) {
		r->transit_hours += (r->distance_km +
		    r->carrier->km_per_hour - 1) / r->carrier->km_per_hour;
	}

	return (1);
}

int
plan_level(const char *s)
{
	if (s == NULL)
		return (-1);
	if (!strcmp(s, "standard"))
		return (PLAN_STANDARD);
	if (!strcmp(s, "express"))
		return (PLAN_EXPRESS);
	return (-1);
}

const char *
plan_level_name(int level)
{
	return (level == PLAN_EXPRESS ? "express" : "standard");
}

int
plan_level_check(const char *s)
{
	return (plan_level(s) != -1);
}

int
plan_shipment_id(const char *order_id, char *out, size_t len)
{
	return (fmt_uuid_v5(PLAN_NAMESPACE, order_id, out, len));
}

const char *
plan_status(time_t created, time_t eta, time_t now)
{
	double		total, f;

	if (now >= eta)
		return ("delivered");
	if (now <= created || eta <= created)
		return ("label_created");

	total = (double)(eta - created);
	f = (double)(now - created) / total;
	if (f < 0.10)
		return ("label_created");
	if (f < 0.85)
		return ("in_transit");
	return ("out_for_delivery");
}

static int
parse_double(const char *s, double lo, double hi, double *out)
{
	char		*ep;
	double		v;

	errno = 0;
	v = strtod(s, &ep);
	if (errno != 0 || ep == s || *ep != '\0' || !(v >= lo && v <= hi))
		return (0);
	*out = v;
	return (1);
}

static int
parse_u32(const char *s, u_int32_t *out)
{
	char		*ep;
	unsigned long	ul;

	if (!isdigit((unsigned char)*s))
		return (0);
	errno = 0;
	ul = strtoul(s, &ep, 10);
	if (errno != 0 || *ep != '\0' || ul > 0xffffffffUL)
		return (0);
	*out = (u_int32_t)ul;
	return (1);
}

/* Ids and carrier names: 1-31 of [A-Za-z0-9-]. */
static int
name_ok(const char *s)
{
	size_t		n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n == PLAN_NAME_MAX - 1)
			return (0);
		if (!isalnum((unsigned char)s[n]) && s[n] != '-')
			return (0);
	}
	return (n > 0);
}

/* "AA".."ZZ" -> 0..PLAN_COUNTRIES - 1; -1 for anything else. */
static int
plan_country(const char *s)
{
	if (s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' ||
	    s[2] != '\0')
		return (-1);

	return ((s[0] - 'A') * 26 + (s[1] - 'A'));
}
