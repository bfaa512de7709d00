#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
//! All integration tests in one binary (one link step). Each test runs against a real server on
//! 127.0.0.1:0 with a fresh database, on SQLite and on PostgreSQL (`PG_TEST_URL`, set by
//! scripts/test).

mod common;
mod console;
mod console_browser;
mod console_map_browser;
mod fakes;

mod address_import;
mod alarm_neighbours;
mod alerting;
mod alerting_live;
mod approval;
mod areas;
mod browser;
mod browser_kit;
mod channels;
mod cli;
mod copy_db;
mod crash;
mod delivery_engine;
mod enquiries;
mod fuzz;
mod geocode_api;
mod gpkg_import;
mod hardening;
mod import;
mod jobs;
mod migration_parity;
mod neighbourhoods;
mod openapi_conformance;
mod ops;
mod pages;
mod participants;
mod place_search;
mod publishing;
mod publishing_import;
mod push;
mod replies;
mod reports;
mod resident_app;
mod resident_browser;
mod resident_logs;
mod resident_security;
mod role_scope_matrix;
mod small_counts;
mod staff;
mod staff_second_factor;
mod targeting;
mod targeting_replica;
mod webpush_decrypt;
