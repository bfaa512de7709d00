//! The SQLite and PostgreSQL migrations must build the same schema: the same tables, columns
//! (by type class and nullability), primary keys, unique keys, indexes and foreign keys. Both
//! databases are migrated for real and read back from their catalogues; any difference that is
//! not listed in [`INTENDED`] fails, with the list of differences.

use crate::common::{Backend, empty_database};
use buurtnet_store::{ConnectOptions, Store};
use sqlx::Row;
use std::collections::BTreeSet;

/// Differences that are meant to be (each line as the test prints it, with the reason).
const INTENDED: &[(&str, &str)] = &[];

/// A column's type reduced to what both databases can agree on.
fn type_class(declared: &str) -> &'static str {
    let t = declared.to_ascii_lowercase();
    if t.contains("int") || t.contains("serial") {
        "integer"
    } else if t.contains("real") || t.contains("double") || t.contains("float") || t.contains("numeric") {
        "real"
    } else if t.contains("bytea") || t.contains("blob") {
        "bytes"
    } else if t.contains("bool") {
        "boolean"
    } else if t.contains("json") {
        "json"
    } else {
        "text"
    }
}

/// One schema as a set of comparable lines.
async fn schema_sqlite(url: &str) -> BTreeSet<String> {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let mut out = BTreeSet::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for t in &tables {
        out.insert(format!("table {t}"));
        let cols = sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid")
            .bind(t)
            .fetch_all(&pool)
            .await
            .unwrap();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for c in &cols {
            let name: String = c.get(0);
            let ty: String = c.get(1);
            let not_null: i64 = c.get(2);
            let pk_pos: i64 = c.get(3);
            // SQLite lets a non-INTEGER primary key column hold NULL unless told; both sides
            // refuse NULL in a key in practice, so a key column counts as NOT NULL.
            let nullable = if not_null == 1 || pk_pos > 0 { "not null" } else { "null" };
            out.insert(format!("column {t}.{name} {} {nullable}", type_class(&ty)));
            if pk_pos > 0 {
                pk.push((pk_pos, name));
            }
        }
        pk.sort();
        if !pk.is_empty() {
            out.insert(format!("primary key {t} ({})", pk.into_iter().map(|(_, n)| n).collect::<Vec<_>>().join(", ")));
        }
        let indexes = sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)")
            .bind(t)
            .fetch_all(&pool)
            .await
            .unwrap();
        for i in &indexes {
            let name: String = i.get(0);
            let unique: i64 = i.get(1);
            let origin: String = i.get(2);
            let partial: i64 = i.get(3);
            if origin == "pk" {
                continue;
            }
            let cols: Vec<Option<String>> = sqlx::query_scalar("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                .bind(&name)
                .fetch_all(&pool)
                .await
                .unwrap();
            let cols: Vec<String> = cols.into_iter().map(|c| c.unwrap_or_else(|| "<expression>".into())).collect();
            out.insert(index_line(t, &cols, unique == 1, partial == 1));
        }
        let fks = sqlx::query("SELECT id, \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq")
            .bind(t)
            .fetch_all(&pool)
            .await
            .unwrap();
        let mut by_id: std::collections::BTreeMap<i64, (Vec<String>, String)> = Default::default();
        for f in &fks {
            let id: i64 = f.get(0);
            let from: String = f.get(1);
            let to_table: String = f.get(2);
            by_id.entry(id).or_insert_with(|| (Vec::new(), to_table)).0.push(from);
        }
        for (_, (from, to)) in by_id {
            out.insert(format!("foreign key {t} ({}) -> {to}", from.join(", ")));
        }
    }
    pool.close().await;
    out
}

async fn schema_postgres(url: &str) -> BTreeSet<String> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let mut out = BTreeSet::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_sqlx%' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for t in &tables {
        out.insert(format!("table {t}"));
        let cols = sqlx::query(
            "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(t)
        .fetch_all(&pool)
        .await
        .unwrap();
        for c in &cols {
            let name: String = c.get(0);
            let ty: String = c.get(1);
            let nullable: String = c.get(2);
            let nullable = if nullable == "NO" { "not null" } else { "null" };
            out.insert(format!("column {t}.{name} {} {nullable}", type_class(&ty)));
        }
        // Indexes with their key columns in order (primary keys apart).
        let indexes = sqlx::query(
            "SELECT ix.indisprimary, ix.indisunique, ix.indpred IS NOT NULL,
                    array(SELECT coalesce(a.attname::text, '<expression>')
                          FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, n)
                          LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum AND k.attnum > 0
                          ORDER BY k.n)
             FROM pg_index ix JOIN pg_class c ON c.oid = ix.indrelid JOIN pg_namespace s ON s.oid = c.relnamespace
             WHERE s.nspname = 'public' AND c.relname = $1",
        )
        .bind(t)
        .fetch_all(&pool)
        .await
        .unwrap();
        for i in &indexes {
            let primary: bool = i.get(0);
            let unique: bool = i.get(1);
            let partial: bool = i.get(2);
            let cols: Vec<String> = i.get(3);
            if primary {
                out.insert(format!("primary key {t} ({})", cols.join(", ")));
            } else {
                out.insert(index_line(t, &cols, unique, partial));
            }
        }
        let fks = sqlx::query(
            "SELECT array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, n)
                          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.n),
                    ref.relname::text
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class ref ON ref.oid = con.confrelid
             JOIN pg_namespace s ON s.oid = c.relnamespace
             WHERE con.contype = 'f' AND s.nspname = 'public' AND c.relname = $1",
        )
        .bind(t)
        .fetch_all(&pool)
        .await
        .unwrap();
        for f in &fks {
            let from: Vec<String> = f.get(0);
            let to: String = f.get(1);
            out.insert(format!("foreign key {t} ({}) -> {to}", from.join(", ")));
        }
    }
    pool.close().await;
    out
}

fn index_line(table: &str, cols: &[String], unique: bool, partial: bool) -> String {
    format!("{}index {table} ({}){}", if unique { "unique " } else { "" }, cols.join(", "), if partial { " where …" } else { "" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_migrations_build_the_same_schema() {
    let mut schemas = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let url = empty_database(backend).await;
        let store = Store::connect(&url, &ConnectOptions::default()).await.unwrap();
        store.migrate().await.unwrap();
        store.close().await;
        schemas.push(match backend {
            Backend::Sqlite => schema_sqlite(&url).await,
            Backend::Postgres => schema_postgres(&url).await,
        });
    }
    let (sqlite, postgres) = (&schemas[0], &schemas[1]);
    assert!(sqlite.len() > 50 && sqlite.iter().any(|l| l.starts_with("table deliveries")), "the catalogue was read: {sqlite:?}");
    // Each kind of object is read on both sides (a reader that saw nothing would agree too).
    for line in [
        "table contacts",
        "column contacts.mobile boolean not null",
        "column contacts.verified_at integer null",
        "primary key contacts (id)",
        "unique index contacts (kind, value)",
        "index contacts (participant_id, kind)",
        "foreign key contacts (participant_id) -> participants",
    ] {
        assert!(sqlite.contains(line), "SQLite's catalogue lacks '{line}': {sqlite:#?}");
        assert!(postgres.contains(line), "PostgreSQL's catalogue lacks '{line}': {postgres:#?}");
    }
    let intended: BTreeSet<&str> = INTENDED.iter().map(|(line, _)| *line).collect();
    let mut differences = Vec::new();
    for line in sqlite.difference(postgres) {
        let d = format!("only in SQLite: {line}");
        if !intended.contains(d.as_str()) {
            differences.push(d);
        }
    }
    for line in postgres.difference(sqlite) {
        let d = format!("only in PostgreSQL: {line}");
        if !intended.contains(d.as_str()) {
            differences.push(d);
        }
    }
    assert!(differences.is_empty(), "the migrations disagree:\n{}", differences.join("\n"));
    // Every intended difference is still real (a stale entry hides nothing, but misleads).
    for (line, why) in INTENDED {
        let real = match line.split_once(": ") {
            Some(("only in SQLite", l)) => sqlite.contains(l) && !postgres.contains(l),
            Some(("only in PostgreSQL", l)) => postgres.contains(l) && !sqlite.contains(l),
            _ => false,
        };
        assert!(real, "intended difference no longer found ({why}): {line}");
    }
}
