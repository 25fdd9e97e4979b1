"""The store's schema, as ordered migrations. Never edit a released one: append.

Each entry moves the schema from version ``i`` to ``i + 1``. Amounts are stored as
decimal strings, times as ISO-8601 UTC strings.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: CRM records, connections, links and access settings.
    """
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE crm_companies (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE crm_contacts (
        id         TEXT PRIMARY KEY,
        first_name TEXT NOT NULL DEFAULT '',
        last_name  TEXT NOT NULL DEFAULT '',
        email      TEXT NOT NULL DEFAULT '',
        phone      TEXT NOT NULL DEFAULT '',
        company_id TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX crm_contacts_company ON crm_contacts (company_id);
    CREATE TABLE crm_deals (
        id                 TEXT PRIMARY KEY,
        title              TEXT NOT NULL,
        value              TEXT,
        currency           TEXT,
        primary_contact_id TEXT,
        updated_at         TEXT NOT NULL
    );
    CREATE TABLE crm_deal_participants (
        deal_id    TEXT NOT NULL REFERENCES crm_deals (id) ON DELETE CASCADE,
        contact_id TEXT NOT NULL,
        PRIMARY KEY (deal_id, contact_id)
    );
    CREATE TABLE connections (
        tenant_id     TEXT PRIMARY KEY,
        tenant_name   TEXT NOT NULL,
        short_code    TEXT,
        base_currency TEXT,
        timezone      TEXT,
        country_code  TEXT,
        xero_url      TEXT,
        client_id     TEXT,
        auth_kind     TEXT NOT NULL CHECK (auth_kind IN ('pkce', 'custom')),
        scopes        TEXT,
        connected_by  TEXT NOT NULL,
        connected_at  TEXT NOT NULL,
        active        INTEGER NOT NULL DEFAULT 0,
        rate_limits   TEXT
    );
    CREATE UNIQUE INDEX connections_one_active ON connections (active) WHERE active = 1;
    CREATE TABLE links (
        tenant_id       TEXT NOT NULL,
        crm_contact_id  TEXT NOT NULL REFERENCES crm_contacts (id) ON DELETE CASCADE,
        xero_contact_id TEXT NOT NULL,
        xero_name       TEXT NOT NULL DEFAULT '',
        xero_email      TEXT NOT NULL DEFAULT '',
        linked_by       TEXT NOT NULL,
        linked_at       TEXT NOT NULL,
        PRIMARY KEY (tenant_id, crm_contact_id)
    );
    CREATE INDEX links_xero_contact ON links (tenant_id, xero_contact_id);
    CREATE TABLE access (
        tenant_id  TEXT NOT NULL,
        user_name  TEXT NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
        granted_by TEXT NOT NULL,
        granted_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, user_name)
    );
    """,
    # 2: deal documents and the cache of Xero documents behind summaries.
    """
    CREATE TABLE deal_documents (
        tenant_id   TEXT NOT NULL,
        deal_id     TEXT NOT NULL REFERENCES crm_deals (id) ON DELETE CASCADE,
        document_id TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('quote', 'invoice', 'bill')),
        attached_by TEXT NOT NULL,
        attached_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, deal_id, document_id)
    );
    CREATE TABLE xero_documents (
        tenant_id       TEXT NOT NULL,
        document_id     TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('quote', 'invoice', 'bill')),
        xero_contact_id TEXT NOT NULL,
        number          TEXT NOT NULL DEFAULT '',
        reference       TEXT NOT NULL DEFAULT '',
        status          TEXT NOT NULL,
        issue_date      TEXT,
        due_date        TEXT,
        currency        TEXT NOT NULL,
        currency_rate   TEXT NOT NULL,
        total           TEXT NOT NULL,
        amount_due      TEXT NOT NULL,
        updated_utc     TEXT,
        fetched_at      TEXT NOT NULL,
        PRIMARY KEY (tenant_id, document_id)
    );
    CREATE INDEX xero_documents_contact ON xero_documents (tenant_id, xero_contact_id);
    CREATE TABLE contact_refreshes (
        tenant_id       TEXT NOT NULL,
        xero_contact_id TEXT NOT NULL,
        refreshed_at    TEXT NOT NULL,
        PRIMARY KEY (tenant_id, xero_contact_id)
    );
    CREATE TABLE sync_state (
        tenant_id      TEXT NOT NULL,
        resource       TEXT NOT NULL,
        modified_since TEXT,
        synced_at      TEXT NOT NULL,
        PRIMARY KEY (tenant_id, resource)
    );
    """,
    # 3: a local copy of the organisation's Xero contacts, for suggestions and auto-link.
    """
    CREATE TABLE xero_contacts (
        tenant_id   TEXT NOT NULL,
        contact_id  TEXT NOT NULL,
        name        TEXT NOT NULL,
        first_name  TEXT NOT NULL DEFAULT '',
        last_name   TEXT NOT NULL DEFAULT '',
        email       TEXT NOT NULL DEFAULT '',
        persons     TEXT NOT NULL DEFAULT '[]',
        status      TEXT NOT NULL,
        updated_utc TEXT,
        PRIMARY KEY (tenant_id, contact_id)
    );
    CREATE INDEX xero_contacts_email ON xero_contacts (tenant_id, email);
    """,
    # 4: the shared token set of a team's connection (team mode keeps it here; a single
    # user's tokens stay in the OS keyring and this table stays empty).
    """
    CREATE TABLE xero_tokens (
        tenant_id  TEXT PRIMARY KEY,
        token      TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    # 5: creates under way: written before a quote, invoice or bill is sent, removed once
    # Xero has answered, so a rerun after an interruption makes no second document.
    """
    CREATE TABLE create_intents (
        tenant_id       TEXT NOT NULL,
        fingerprint     TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        kind            TEXT NOT NULL,
        crm_contact_id  TEXT NOT NULL,
        xero_contact_id TEXT NOT NULL,
        created_by      TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        PRIMARY KEY (tenant_id, fingerprint)
    );
    """,
    # 6: a live CRM source (Salesmate): where each record came from, whether the source
    # has since deleted it, what an update must echo back, the source's field values
    # xerolink knows, and how far each kind has been pulled.
    """
    ALTER TABLE crm_contacts ADD COLUMN source TEXT;
    ALTER TABLE crm_contacts ADD COLUMN gone_at TEXT;
    ALTER TABLE crm_companies ADD COLUMN source TEXT;
    ALTER TABLE crm_companies ADD COLUMN gone_at TEXT;
    ALTER TABLE crm_deals ADD COLUMN source TEXT;
    ALTER TABLE crm_deals ADD COLUMN gone_at TEXT;
    CREATE TABLE crm_source_records (
        source      TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('contact', 'company', 'deal')),
        record_id   TEXT NOT NULL,
        modified_at TEXT NOT NULL,
        echo        TEXT NOT NULL DEFAULT '{}',
        fields      TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (source, kind, record_id)
    );
    CREATE TABLE crm_pulls (
        source    TEXT NOT NULL,
        kind      TEXT NOT NULL,
        watermark TEXT,
        pulled_at TEXT NOT NULL,
        PRIMARY KEY (source, kind)
    );
    """,
    # 7: PostgreSQL only (POSTGRES_ONLY[7]): what each team role may write, row by row.
    # SQLite has one user and nothing to enforce, so its step is empty.
    "",
    # 8: PostgreSQL only (POSTGRES_ONLY[8]): only admins pull and push, so the CRM
    # source's token is admins' alone, and viewers write no setting.
    "",
    # 9: PostgreSQL only (POSTGRES_ONLY[9]): the team's leases (one CRM pass at a time
    # across machines). SQLite's lease is a file lock in the profile, so its step is empty.
    "",
    # 10: Xero's webhook events, stored before the delivery is answered and processed
    # after; the key is what makes a replayed event the same event.
    """
    CREATE TABLE webhook_events (
        tenant_id      TEXT NOT NULL,
        category       TEXT NOT NULL,
        resource_id    TEXT NOT NULL,
        event_type     TEXT NOT NULL,
        event_date_utc TEXT NOT NULL,
        received_at    TEXT NOT NULL,
        done_at        TEXT,
        outcome        TEXT,
        PRIMARY KEY (tenant_id, category, resource_id, event_type, event_date_utc)
    );
    CREATE INDEX webhook_events_pending ON webhook_events (done_at, tenant_id);
    """,
    # 11: the right to send (approve, and email to customers), granted to a viewer by an
    # admin; admins have it without a mark. A column beside the role, not a third role:
    # the right is granted and revoked on its own while the role stays, and the role's
    # CHECK needs no rebuilt table (SQLite alters no CHECK). Existing rows get 0: no
    # viewer may send until an admin says so.
    """
    ALTER TABLE access ADD COLUMN may_send INTEGER NOT NULL DEFAULT 0
        CHECK (may_send IN (0, 1));
    """,
    # 12: sends under way and done: each email of an invoice asked of Xero, written with
    # its Idempotency-Key before the call, marked sent once Xero answered and noted once
    # its history note was tried; so a rerun after an interruption never emails twice.
    # A create also keeps the document it made and whether its note was added, so a
    # create that goes on to approve and send is resumed, not made again.
    """
    CREATE TABLE send_intents (
        tenant_id       TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        document_id     TEXT NOT NULL,
        number          TEXT NOT NULL DEFAULT '',
        to_address      TEXT NOT NULL,
        requested_by    TEXT NOT NULL,
        requested_at    TEXT NOT NULL,
        sent_at         TEXT,
        noted_at        TEXT,
        PRIMARY KEY (tenant_id, idempotency_key)
    );
    CREATE INDEX send_intents_document ON send_intents (tenant_id, document_id);
    ALTER TABLE create_intents ADD COLUMN document_id TEXT;
    ALTER TABLE create_intents ADD COLUMN noted_at TEXT;
    """,
    # 13: what was paid and what credit is left: the organisation's payments (from the
    # earliest date asked for) and its credit notes, overpayments and prepayments with
    # credit remaining, each kept current like the open documents (sync_state).
    """
    CREATE TABLE xero_payments (
        tenant_id       TEXT NOT NULL,
        payment_id      TEXT NOT NULL,
        document_id     TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('invoice', 'bill')),
        number          TEXT NOT NULL DEFAULT '',
        xero_contact_id TEXT NOT NULL,
        paid_on         TEXT NOT NULL,
        amount          TEXT NOT NULL,
        currency        TEXT NOT NULL,
        currency_rate   TEXT NOT NULL,
        status          TEXT NOT NULL,
        updated_utc     TEXT,
        fetched_at      TEXT NOT NULL,
        PRIMARY KEY (tenant_id, payment_id)
    );
    CREATE INDEX xero_payments_contact ON xero_payments (tenant_id, xero_contact_id);
    CREATE INDEX xero_payments_document ON xero_payments (tenant_id, document_id);
    CREATE TABLE xero_credits (
        tenant_id       TEXT NOT NULL,
        credit_id       TEXT NOT NULL,
        source          TEXT NOT NULL CHECK (source IN ('credit_note', 'overpayment',
                                                        'prepayment')),
        side            TEXT NOT NULL CHECK (side IN ('invoice', 'bill')),
        xero_contact_id TEXT NOT NULL,
        number          TEXT NOT NULL DEFAULT '',
        status          TEXT NOT NULL,
        issued_on       TEXT,
        currency        TEXT NOT NULL,
        currency_rate   TEXT NOT NULL,
        total           TEXT NOT NULL,
        remaining       TEXT NOT NULL,
        updated_utc     TEXT,
        fetched_at      TEXT NOT NULL,
        PRIMARY KEY (tenant_id, credit_id)
    );
    CREATE INDEX xero_credits_contact ON xero_credits (tenant_id, xero_contact_id);
    """,
    # 14: a create whose every step was done keeps its intent for Xero's idempotency
    # window, marked done: the same command run again in it (its answer lost to a kill
    # as the run ended) is answered with what was made, not made again.
    """
    ALTER TABLE create_intents ADD COLUMN done_at TEXT;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

# What only the team database runs, keyed by the version it moves to, right after that
# version's shared step. The roles' privileges (``team init``) say which tables each
# role may touch; these row-level policies say which rows, where a table holds both
# what viewing needs and what only admins decide.
POSTGRES_ONLY: dict[int, str] = {
    7: """
    -- Whether the current login is in this database's admins role (the name team init
    -- gives it). A fixed search_path: a caller's own schema cannot stand in for it.
    CREATE FUNCTION team_admin() RETURNS boolean LANGUAGE sql STABLE
        SET search_path = pg_catalog, pg_temp AS $$
        SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname =
                       left(current_database() || '_xerolink_admins', 63)
                       AND pg_has_role(current_user, oid, 'MEMBER'))
    $$;
    -- Settings: everyone granted reads them; a viewer writes only what a pull records
    -- (the account pulled from, the fields the source refused). The CRM source, its
    -- URL and whatever else an admin decides are admins' rows.
    ALTER TABLE settings ENABLE ROW LEVEL SECURITY;
    CREATE POLICY settings_admins ON settings FOR ALL
        USING (team_admin()) WITH CHECK (team_admin());
    CREATE POLICY settings_read ON settings FOR SELECT USING (true);
    CREATE POLICY settings_pull_adds ON settings FOR INSERT WITH CHECK (
        starts_with(key, 'crm.pulled_from.') OR starts_with(key, 'crm.refused_fields.'));
    CREATE POLICY settings_pull_changes ON settings FOR UPDATE USING (true) WITH CHECK (
        starts_with(key, 'crm.pulled_from.') OR starts_with(key, 'crm.refused_fields.'));
    -- Tokens: a viewer renews the Xero token set of a connected organisation (a
    -- refresh); the CRM source's token (crm:...) and adding or removing any row are
    -- admins' (connect, crm connect, remove).
    ALTER TABLE xero_tokens ENABLE ROW LEVEL SECURITY;
    CREATE POLICY xero_tokens_admins ON xero_tokens FOR ALL
        USING (team_admin()) WITH CHECK (team_admin());
    CREATE POLICY xero_tokens_read ON xero_tokens FOR SELECT USING (true);
    CREATE POLICY xero_tokens_renew ON xero_tokens FOR UPDATE USING (true) WITH CHECK (
        tenant_id IN (SELECT c.tenant_id FROM connections c));
    """,
    8: """
    -- crm pull and crm push send the CRM account's token, an admin's credential, and
    -- only admins run them: a viewer sees (and renews) only the Xero token sets of
    -- connected organisations, never the CRM source's token (crm:...) or any other row.
    DROP POLICY xero_tokens_read ON xero_tokens;
    CREATE POLICY xero_tokens_read ON xero_tokens FOR SELECT USING (
        tenant_id IN (SELECT c.tenant_id FROM connections c));
    DROP POLICY xero_tokens_renew ON xero_tokens;
    CREATE POLICY xero_tokens_renew ON xero_tokens FOR UPDATE USING (
        tenant_id IN (SELECT c.tenant_id FROM connections c)) WITH CHECK (
        tenant_id IN (SELECT c.tenant_id FROM connections c));
    -- What a pull records (the account pulled from, the fields the source refused) is
    -- an admin's now: viewers read settings and write none.
    DROP POLICY settings_pull_adds ON settings;
    DROP POLICY settings_pull_changes ON settings;
    """,
    9: """
    -- One row per lease held: who (the database login), where (machine, process),
    -- since when, and until when on the database's clock; renewed while its job runs.
    CREATE TABLE leases (
        name        TEXT PRIMARY KEY,
        token       TEXT NOT NULL,
        holder      TEXT NOT NULL,
        host        TEXT NOT NULL,
        pid         INTEGER NOT NULL,
        acquired_at TIMESTAMPTZ NOT NULL,
        expires_at  TIMESTAMPTZ NOT NULL
    );
    """,
    11: """
    -- The access list is admins' to write, row by row too: team init grants viewers only
    -- SELECT on it, and should a broader grant ever reach them, no row they could write
    -- passes these policies; so no viewer marks their own row may_send.
    ALTER TABLE access ENABLE ROW LEVEL SECURITY;
    CREATE POLICY access_admins ON access FOR ALL
        USING (team_admin()) WITH CHECK (team_admin());
    CREATE POLICY access_read ON access FOR SELECT USING (true);
    -- Whether the current login may send for an organisation: an admin, or a viewer an
    -- admin marked. For the policies of what only a sender writes.
    CREATE FUNCTION team_may_send(tenant TEXT) RETURNS boolean LANGUAGE sql STABLE
        SET search_path = pg_catalog, pg_temp AS $$
        SELECT xerolink.team_admin() OR EXISTS (
            SELECT 1 FROM xerolink.access a WHERE a.tenant_id = tenant
            AND a.user_name = current_user AND a.may_send = 1)
    $$;
    """,
    12: """
    -- The emails under way and sent: everyone who views may see them; only who may send
    -- for that organisation writes one, so no other viewer forges a send (to block a
    -- real one as already sent) or removes one (so that a rerun emails twice).
    ALTER TABLE send_intents ENABLE ROW LEVEL SECURITY;
    CREATE POLICY send_intents_read ON send_intents FOR SELECT USING (true);
    CREATE POLICY send_intents_senders ON send_intents FOR ALL
        USING (team_may_send(tenant_id)) WITH CHECK (team_may_send(tenant_id));
    """,
}
