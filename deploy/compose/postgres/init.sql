-- Sample CRM and shop databases for the docker-compose stack, captured by
-- Debezium (connect/crm.json, connect/shop.json) into the topics that
-- profiled.yaml maps: crm.public.customers and shop.public.orders.
--
-- Runs once, when the Postgres volume is created (docker-entrypoint-initdb.d).
-- Debezium connects as the debezium role: REPLICATION and SELECT only; the
-- publications are created here by the owner, so the connector needs no
-- CREATE rights (publication.autocreate.mode=disabled).

CREATE ROLE debezium WITH LOGIN REPLICATION PASSWORD 'debezium';

CREATE DATABASE crm;
CREATE DATABASE shop;

\connect crm

CREATE TABLE customers (
    id               bigint PRIMARY KEY,
    email            text,
    first_name       text,
    last_name        text,
    phone            text,
    country          text,
    birth_date       date,
    marketing_opt_in boolean NOT NULL DEFAULT false,
    updated_at       timestamp(6) NOT NULL DEFAULT now()
);
GRANT SELECT ON customers TO debezium;
CREATE PUBLICATION dbz_publication FOR TABLE customers;

INSERT INTO customers (id, email, first_name, last_name, phone, country, birth_date, marketing_opt_in) VALUES
    (1, '  Ada.Lovelace@Example.com ', 'Ada', 'Lovelace', '+44 20 7946 0958', 'gb', '1815-12-10', true),
    (2, 'grace.hopper@example.com', 'Grace', 'Hopper', '(212) 555-0100', 'us', '1906-12-09', false),
    (3, 'alan.turing@example.com', 'Alan', 'Turing', '+44 161 496 0000', 'GB', '1912-06-23', true),
    (4, 'katherine.johnson@example.com', 'Katherine', 'Johnson', '757-555-0142', 'US', '1918-08-26', true),
    (5, 'edsger.dijkstra@example.com', 'Edsger', 'Dijkstra', '+31 20 555 0199', 'NL', '1930-05-11', false);

\connect shop

CREATE TABLE orders (
    id          bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    status      text NOT NULL,
    total       numeric(12, 2) NOT NULL,
    currency    char(3) NOT NULL,
    created_at  timestamp(6) NOT NULL DEFAULT now()
);
GRANT SELECT ON orders TO debezium;
CREATE PUBLICATION dbz_publication FOR TABLE orders;

INSERT INTO orders (id, customer_id, status, total, currency) VALUES
    (1001, 1, 'paid', 129.90, 'GBP'),
    (1002, 1, 'shipped', 45.00, 'GBP'),
    (1003, 2, 'paid', 310.25, 'USD'),
    (1004, 3, 'cancelled', 18.50, 'GBP'),
    (1005, 4, 'paid', 72.10, 'USD');
