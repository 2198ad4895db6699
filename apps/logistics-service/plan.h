/*
 * plan.h - logistics-service's shipment planning (CONTRACT §6): pure and
 * deterministic, no I/O but reading the data file; unit tested on the
 * host (tests/unit/test_logistics.c).
 *
 * The data file (apps/logistics-service/logistics.data, installed as
 * /etc/crm/logistics.data; path from LOGISTICS_DATA_FILE) holds three
 * tables, one entry a line, '#' starts a comment:
 *
 *	warehouse <id> <lat> <lon>
 *	region    <country> <postal prefix | *> <lat> <lon>
 *	carrier   <standard|express> <max km> <name> <base hours> <km per hour>
 *
 * Planning one shipment:
 *  1. The destination's location: the region of its country whose postal
 *     prefix is the longest prefix of the postal code (case-insensitive,
 *     spaces ignored); "*" is the country's centroid.  A country without
 *     regions is not served (400 validation_failed on destination.country).
 *  2. The origin: the warehouse nearest by great-circle distance (mean
 *     earth radius 6371 km); ties go to the warehouse listed first.
 *  3. distance_km: that distance rounded to whole km.
 *  4. The carrier: the first carrier line of the service level whose
 *     max km >= distance_km.  Each level must have a line reaching 20040
 *     km (half the earth's circumference), so every place is served.
 *  5. Transit: base hours + ceil(distance_km / km per hour) (0 km per
 *     hour: base hours only); eta = created_at + transit.
 * The shipment id is a UUID v5 (SHA-1) of the order id in the namespace
 * PLAN_NAMESPACE: the same order always yields the same shipment id.
 * The status follows from the time since created_at over the transit time:
 * below 10% label_created, below 85% in_transit, before the eta
 * out_for_delivery, from the eta on delivered.
 */

#ifndef __H_LOGISTICS_PLAN_H
#define __H_LOGISTICS_PLAN_H

#include <sys/types.h>
#include <stddef.h>
#include <time.h>

#define PLAN_NAMESPACE		"8f3c1a6e-5b2d-4e7f-9a10-6c4d2b8e7f35"

#define PLAN_WAREHOUSES_MAX	64
#define PLAN_REGIONS_MAX	512
#define PLAN_CARRIERS_MAX	32
#define PLAN_NAME_MAX		32
#define PLAN_PREFIX_MAX		4
#define PLAN_FULL_REACH_KM	20040

#define PLAN_STANDARD		0
#define PLAN_EXPRESS		1
#define PLAN_LEVELS		2

/* plan_locate() results. */
#define PLAN_OK			0
#define PLAN_UNKNOWN_COUNTRY	1
#define PLAN_BAD_POSTAL		2

struct plan_warehouse {
	char		id[PLAN_NAME_MAX];
	double		lat;
	double		lon;
};

struct plan_region {
	char		country[3];
	char		prefix[PLAN_PREFIX_MAX];	/* "" = whole country */
	double		lat;
	double		lon;
	u_int16_t	next;		/* the country's next region + 1 */
};

/* Countries AA..ZZ, the index plan_country() gives. */
#define PLAN_COUNTRIES		(26 * 26)

struct plan_carrier {
	int		level;
	u_int32_t	max_km;
	char		name[PLAN_NAME_MAX];
	u_int32_t	base_hours;
	u_int32_t	km_per_hour;
};

struct plan_data {
	size_t			nwarehouses;
	size_t			nregions;
	size_t			ncarriers;
	struct plan_warehouse	warehouses[PLAN_WAREHOUSES_MAX];
	struct plan_region	regions[PLAN_REGIONS_MAX];
	struct plan_carrier	carriers[PLAN_CARRIERS_MAX];
	/*
	 * Each country's regions, chained in the file's order (first and
	 * last region + 1, 0: none): a lookup reads its country's only,
	 * whatever the number of countries served.
	 */
	u_int16_t		first[PLAN_COUNTRIES];
	u_int16_t		last[PLAN_COUNTRIES];
};

struct plan_result {
	const struct plan_warehouse	*origin;
	const struct plan_carrier	*carrier;
	u_int32_t			distance_km;
	u_int32_t			transit_hours;
};

/* Parses the data file's text; 0 with a message naming the line. */
int		plan_parse(struct plan_data *, const char *, size_t, char *,
		    size_t);
int		plan_load(struct plan_data *, const char *, char *, size_t);

/* The destination's location (PLAN_OK) or why not. */
int		plan_locate(const struct plan_data *, const char *,
		    const char *, double *, double *);

/* Great-circle distance in km (haversine). */
double		plan_distance_km(double, double, double, double);

/* Origin, distance, carrier and transit for a location and a level. */
int		plan_route(const struct plan_data *, double, double, int,
		    struct plan_result *);

/* "standard" / "express" <-> PLAN_*; -1 when unknown. */
int		plan_level(const char *);
const char	*plan_level_name(int);
int		plan_level_check(const char *);	/* json_field.check */

/* The shipment id of an order: fmt_uuid_v5(PLAN_NAMESPACE, order_id). */
int		plan_shipment_id(const char *, char *, size_t);

/* label_created, in_transit, out_for_delivery, delivered. */
const char	*plan_status(time_t, time_t, time_t);

#endif
