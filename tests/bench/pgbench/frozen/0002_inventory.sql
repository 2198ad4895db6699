-- inventory-service's state (contract §5).
--
-- Per product, stock is split into what can still be reserved (quantity),
-- what reservations hold (reserved) and what has shipped (committed). A
-- reservation moves units quantity -> reserved, a commit reserved ->
-- committed, a release reserved -> quantity; so quantity + reserved +
-- committed is constant between two PUTs, and the CHECKs below make
-- over-reservation impossible whatever the concurrency: a conditional UPDATE
-- that would go negative fails instead of handing out stock that is not there.

CREATE TABLE inventory.products (
	product_id	text PRIMARY KEY
			CHECK (product_id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
	quantity	bigint NOT NULL CHECK (quantity >= 0),
	reserved	bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
	committed	bigint NOT NULL DEFAULT 0 CHECK (committed >= 0),
	-- The ETag; bumped by every change of the row.
	version		bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- reservation_id is the client's idempotency key: a repeat finds this row.
CREATE TABLE inventory.reservations (
	reservation_id	uuid PRIMARY KEY,
	status		text NOT NULL
			CHECK (status IN ('reserved', 'committed', 'released')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

-- What a reservation took, so a release returns exactly that. Rows are never
-- updated or deleted (no grant for it); ON DELETE RESTRICT keeps them with
-- their reservation.
CREATE TABLE inventory.reservation_items (
	reservation_id	uuid NOT NULL
			REFERENCES inventory.reservations ON DELETE RESTRICT,
	product_id	text NOT NULL REFERENCES inventory.products,
	quantity	bigint NOT NULL CHECK (quantity BETWEEN 1 AND 1000000),
	PRIMARY KEY (reservation_id, product_id)
);

-- For the foreign key's checks (and "which reservations hold product X").
CREATE INDEX reservation_items_product_idx
	ON inventory.reservation_items (product_id);

REVOKE ALL ON inventory.products, inventory.reservations,
	inventory.reservation_items FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON inventory.products TO inventory_service;
GRANT SELECT, INSERT, UPDATE ON inventory.reservations TO inventory_service;
GRANT SELECT, INSERT ON inventory.reservation_items TO inventory_service;
