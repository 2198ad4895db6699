/*
 * test_logistics.c - logistics-service's planning (apps/logistics-service/
 * plan.c, built in by tests/unit/unit.mk): ids, locations, nearest
 * warehouse, carriers and ETAs at their boundaries, the shipped data file.
 */

#include <math.h>

#include "unit.h"
#include "fmt.h"
#include "plan.h"

#define DATA_FILE	"apps/logistics-service/logistics.data"

/* A small world: two warehouses on the equator, 1 degree ~ 111.19 km. */
static const char	small[] =
    "# test tables\n"
    "warehouse W-WEST 0 0\n"
    "warehouse W-EAST 0 10   # ~1112 km east\n"
    "carrier standard 100 Near 24 0\n"
    "carrier standard 20040 Far 48 50\n"
    "carrier express 100 NearX 4 0\n"
    "carrier express 20040 FarX 12 100\n"
    "region ZZ * 0 1\n"
    "region ZZ 1 0 9\n"
    "region ZZ 12 0 5\n"
    "region YY 9 0 0\n"
    "region ZZ 2 0 7   # a country's regions need not be adjacent\n";

static struct plan_data	d;

static void
load_small(void)
{
	char		err[128];

	ck_assert_msg(plan_parse(&d, small, sizeof(small) - 1, err,
	    sizeof(err)), "%s", err);
}

START_TEST(uuid_v5_vectors)
{
	char		a[37], b[37];

	/* Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org") */
	ck_assert(fmt_uuid_v5("6ba7b810-9dad-11d1-80b4-00c04fd430c8",
	    "python.org", a, sizeof(a)));
	ck_assert_str_eq(a, "886313e1-3b8a-5372-9b90-0c9aee199e5d");

	/* Same order, same id; another order, another id. */
	ck_assert(plan_shipment_id("0b7e4a4e-8c1f-4b3a-9d2e-1f2a3b4c5d6e", a,
	    sizeof(a)));
	ck_assert(plan_shipment_id("0b7e4a4e-8c1f-4b3a-9d2e-1f2a3b4c5d6e", b,
	    sizeof(b)));
	ck_assert_str_eq(a, b);
	ck_assert_int_eq(a[14], '5');
	ck_assert(plan_shipment_id("0b7e4a4e-8c1f-4b3a-9d2e-1f2a3b4c5d6f", b,
	    sizeof(b)));
	ck_assert_str_ne(a, b);

	ck_assert(!fmt_uuid_v5("not-a-uuid", "x", a, sizeof(a)));
	ck_assert(!fmt_uuid_v5(PLAN_NAMESPACE, "x", a, 36));
}
END_TEST

START_TEST(locate)
{
	double		lat, lon;

	load_small();
	/* Longest prefix wins, "*" is the fallback. */
	ck_assert_int_eq(plan_locate(&d, "ZZ", "1234", &lat, &lon), PLAN_OK);
	ck_assert(lon == 5);
	ck_assert_int_eq(plan_locate(&d, "ZZ", "1999", &lat, &lon), PLAN_OK);
	ck_assert(lon == 9);
	ck_assert_int_eq(plan_locate(&d, "ZZ", "5000", &lat, &lon), PLAN_OK);
	ck_assert(lon == 1);
	/* Spaces and dashes are ignored in the match. */
	ck_assert_int_eq(plan_locate(&d, "ZZ", "1 2-3", &lat, &lon), PLAN_OK);
	ck_assert(lon == 5);
	ck_assert_int_eq(plan_locate(&d, "ZZ", "2345", &lat, &lon), PLAN_OK);
	ck_assert(lon == 7);
	ck_assert_int_eq(plan_locate(&d, "YY", "9", &lat, &lon), PLAN_OK);
	ck_assert(lon == 0);
	/* Unknown country; served country without a matching area. */
	ck_assert_int_eq(plan_locate(&d, "JP", "100", &lat, &lon),
	    PLAN_UNKNOWN_COUNTRY);
	ck_assert_int_eq(plan_locate(&d, "zz", "100", &lat, &lon),
	    PLAN_UNKNOWN_COUNTRY);
	ck_assert_int_eq(plan_locate(&d, "ZZZ", "100", &lat, &lon),
	    PLAN_UNKNOWN_COUNTRY);
	ck_assert_int_eq(plan_locate(&d, "YY", "100", &lat, &lon),
	    PLAN_BAD_POSTAL);
	ck_assert_int_eq(plan_locate(&d, "ZZ", "", &lat, &lon),
	    PLAN_BAD_POSTAL);
	ck_assert_int_eq(plan_locate(&d, "ZZ", "12_3", &lat, &lon),
	    PLAN_BAD_POSTAL);
}
END_TEST

START_TEST(nearest_and_carrier)
{
	struct plan_result	r;

	load_small();
	ck_assert(plan_route(&d, 0, 1, PLAN_STANDARD, &r));
	ck_assert_str_eq(r.origin->id, "W-WEST");
	ck_assert_uint_eq(r.distance_km, 111);
	ck_assert_str_eq(r.carrier->name, "Far");
	ck_assert_uint_eq(r.transit_hours, 48 + 3);	/* ceil(111 / 50) */

	ck_assert(plan_route(&d, 0, 9, PLAN_STANDARD, &r));
	ck_assert_str_eq(r.origin->id, "W-EAST");

	/* Exactly half way: a tie goes to the warehouse listed first. */
	ck_assert(plan_route(&d, 0, 5, PLAN_STANDARD, &r));
	ck_assert_str_eq(r.origin->id, "W-WEST");

	ck_assert(plan_route(&d, 0, 0, PLAN_STANDARD, &r));
	ck_assert_uint_eq(r.distance_km, 0);
	ck_assert_str_eq(r.carrier->name, "Near");
	ck_assert_uint_eq(r.transit_hours, 24);

	ck_assert(!plan_route(&d, 0, 0, 7, &r));
}
END_TEST

START_TEST(boundary_distances)
{
	struct plan_result	r;
	double			lon100, lon101;

	load_small();
	/* Longitudes on the equator whose distance rounds to 100 / 101 km. */
	lon100 = 100.0 / (M_PI / 180.0 * 6371.0);
	lon101 = 100.6 / (M_PI / 180.0 * 6371.0);
	ck_assert(plan_route(&d, 0, lon100, PLAN_STANDARD, &r));
	ck_assert_uint_eq(r.distance_km, 100);
	ck_assert_str_eq(r.carrier->name, "Near");	/* max km inclusive */
	ck_assert(plan_route(&d, 0, lon101, PLAN_STANDARD, &r));
	ck_assert_uint_eq(r.distance_km, 101);
	ck_assert_str_eq(r.carrier->name, "Far");
	ck_assert_uint_eq(r.transit_hours, 48 + 3);	/* ceil(101 / 50) */

	/* The antipode of a warehouse is still served. */
	ck_assert(plan_route(&d, 0, -175, PLAN_EXPRESS, &r));
	ck_assert_str_eq(r.carrier->name, "FarX");
	ck_assert(fabs(plan_distance_km(0, 0, 0, 180) - 20015.1) < 0.1);
}
END_TEST

START_TEST(express_vs_standard)
{
	struct plan_result	s, e;
	size_t			i;
	double			lons[] = { 0, 0.5, 1, 3, 4.9, 20, 100, -170 };

	load_small();
	for (i = 0; i < sizeof(lons) / sizeof(lons[0]); i++) {
		ck_assert(plan_route(&d, 0, lons[i], PLAN_STANDARD, &s));
		ck_assert(plan_route(&d, 0, lons[i], PLAN_EXPRESS, &e));
		ck_assert(s.origin == e.origin);
		ck_assert_uint_eq(s.distance_km, e.distance_km);
		ck_assert_uint_lt(e.transit_hours, s.transit_hours);
	}
	ck_assert_int_eq(plan_level("standard"), PLAN_STANDARD);
	ck_assert_int_eq(plan_level("express"), PLAN_EXPRESS);
	ck_assert_int_eq(plan_level("Express"), -1);
	ck_assert_int_eq(plan_level(NULL), -1);
	ck_assert(!plan_level_check("overnight"));
}
END_TEST

START_TEST(status_from_time)
{
	time_t		c = 1000000, eta = c + 100 * 3600;

	ck_assert_str_eq(plan_status(c, eta, c), "label_created");
	ck_assert_str_eq(plan_status(c, eta, c - 5), "label_created");
	ck_assert_str_eq(plan_status(c, eta, c + 10 * 3600 - 1),
	    "label_created");
	ck_assert_str_eq(plan_status(c, eta, c + 10 * 3600), "in_transit");
	ck_assert_str_eq(plan_status(c, eta, c + 85 * 3600 - 1),
	    "in_transit");
	ck_assert_str_eq(plan_status(c, eta, c + 85 * 3600),
	    "out_for_delivery");
	ck_assert_str_eq(plan_status(c, eta, eta - 1), "out_for_delivery");
	ck_assert_str_eq(plan_status(c, eta, eta), "delivered");
	ck_assert_str_eq(plan_status(c, c, c), "delivered");
}
END_TEST

START_TEST(parse_errors)
{
	char		err[128];
	const char	*bad[] = {
		"warehouse W 0\n",
		"warehouse W 91 0\ncarrier standard 20040 A 1 1\n"
		    "carrier express 20040 B 1 1\n",
		"warehouse W x 0\n",
		"warehouse W_1 0 0\n",
		"carrier overnight 10 A 1 1\n",
		"region zz * 0 0\n",
		"region ZZ 1234 0 0\n",
		"ship it\n",
		/* No carrier reaching everywhere. */
		"warehouse W 0 0\ncarrier standard 100 A 1 1\n"
		    "carrier express 20040 B 1 1\n",
		"",
	};
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!plan_parse(&d, bad[i], strlen(bad[i]), err,
		    sizeof(err)), "accepted: %s", bad[i]);
		ck_assert(err[0] != '\0');
	}
	ck_assert(!plan_parse(&d, "\n\nship it\n", 10, err, sizeof(err)));
	ck_assert_str_eq(err, "line 3: unknown entry 'ship'");
}
END_TEST

START_TEST(shipped_data_file)
{
	struct plan_result	r;
	char			err[256], c[3] = "AA";
	double			lat, lon;
	int			n = 0;

	ck_assert_msg(plan_load(&d, DATA_FILE, err, sizeof(err)), "%s", err);
	ck_assert_int_eq(plan_locate(&d, "DE", "10115", &lat, &lon), PLAN_OK);
	ck_assert(plan_route(&d, lat, lon, PLAN_STANDARD, &r));
	ck_assert_str_eq(r.origin->id, "WH-BERLIN");
	ck_assert_int_eq(plan_locate(&d, "US", "10001", &lat, &lon), PLAN_OK);
	ck_assert(plan_route(&d, lat, lon, PLAN_EXPRESS, &r));
	ck_assert_str_eq(r.origin->id, "WH-NEWARK");
	ck_assert_int_eq(plan_locate(&d, "FR", "69001", &lat, &lon), PLAN_OK);
	ck_assert(plan_route(&d, lat, lon, PLAN_STANDARD, &r));
	ck_assert_str_eq(r.origin->id, "WH-LYON");
	ck_assert_int_eq(plan_locate(&d, "JP", "100-0001", &lat, &lon),
	    PLAN_OK);
	ck_assert(plan_route(&d, lat, lon, PLAN_STANDARD, &r));
	ck_assert_str_eq(r.carrier->name, "DHL-Global");
	/*
	 * Every country crm-api and order-service accept can be planned,
	 * with any postal code they accept: an order they took never meets
	 * a 400 here (it would stay pending for good).
	 */
	for (c[0] = 'A'; c[0] <= 'Z'; c[0]++) {
		for (c[1] = 'A'; c[1] <= 'Z'; c[1]++) {
			if (!fmt_country(c))
				continue;
			ck_assert_msg(plan_locate(&d, c, "Z", &lat, &lon) ==
			    PLAN_OK, "%s is not served", c);
			ck_assert(plan_route(&d, lat, lon, PLAN_EXPRESS, &r));
			n++;
		}
	}
	ck_assert_int_eq(n, 249);
	ck_assert(!plan_load(&d, "/nonexistent/logistics.data", err,
	    sizeof(err)));
}
END_TEST

static Suite *
logistics_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("logistics");
	tc = tcase_create("plan");
	tcase_add_test(tc, uuid_v5_vectors);
	tcase_add_test(tc, locate);
	tcase_add_test(tc, nearest_and_carrier);
	tcase_add_test(tc, boundary_distances);
	tcase_add_test(tc, express_vs_standard);
	tcase_add_test(tc, status_from_time);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, shipped_data_file);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(logistics_suite()));
}
