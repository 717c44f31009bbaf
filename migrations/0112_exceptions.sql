-- Exceptions (waivers, issue 15): a justified, expiring decision that the results of one check on
-- some resources are accepted. A covered result keeps its status and is shown with its exception;
-- it does not count against the score (from the next scan: a scan's score is what was in force
-- when it ran) or the compliance percentage (at once: compliance is read from current findings).
-- Once expires_at passes it covers nothing; the row stays for the record until deleted.
CREATE TABLE exceptions (
    id               uuid PRIMARY KEY,
    check_id         text NOT NULL,
    -- What it covers: every cluster, one cluster, or the clusters of a group.
    scope            text NOT NULL CHECK (scope IN ('all', 'cluster', 'group')),
    cluster_id       uuid REFERENCES clusters(id) ON DELETE CASCADE,
    cluster_group    text,
    -- Only resources in this namespace (exact); NULL: any, cluster-scoped ones included.
    namespace        text,
    -- Only resources whose name matches this glob (`*` any run, `?` one character), as given, and
    -- as the LIKE pattern it is matched with; NULL: any.
    resource         text,
    resource_like    text,
    justification    text NOT NULL,
    -- Who answers for it (free text: a person or a team); NULL: its creator.
    owner            text,
    expires_at       timestamptz NOT NULL,
    -- pending: waits for an admin ([exceptions] require_approval); approved: in force until
    -- expires_at; rejected: an admin declined it.
    state            text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    created_by       uuid REFERENCES users(id) ON DELETE SET NULL,
    created_by_name  text NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    decided_by_name  text,
    decided_at       timestamptz,
    CHECK ((scope = 'cluster') = (cluster_id IS NOT NULL)),
    CHECK ((scope = 'group') = (cluster_group IS NOT NULL)),
    CHECK ((resource IS NULL) = (resource_like IS NULL))
);
CREATE INDEX exceptions_in_force ON exceptions (check_id, expires_at) WHERE state = 'approved';
CREATE INDEX exceptions_by_created ON exceptions (created_at DESC, id DESC);

-- Whether exception `e` covers, at `p_at`, a result of check `p_check` on a resource of a cluster:
-- the one definition of matching. A plain expression, so PostgreSQL inlines it into joins.
CREATE FUNCTION palisade_exception_covers(e exceptions, p_cluster uuid, p_group text, p_check text,
                                          p_namespace text, p_name text, p_at timestamptz)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT e.state = 'approved' AND e.check_id = p_check AND e.expires_at > p_at
       AND (e.scope = 'all' OR (e.scope = 'cluster' AND e.cluster_id = p_cluster)
            OR (e.scope = 'group' AND e.cluster_group = p_group))
       AND (e.namespace IS NULL OR e.namespace = p_namespace)
       AND (e.resource_like IS NULL OR p_name LIKE e.resource_like)
$$;

-- The exception in force at `p_at` that covers such a result (the one that lasts longest when
-- several do), or no row: what a page of results or findings shows.
CREATE FUNCTION palisade_exception_for(p_cluster uuid, p_group text, p_check text, p_namespace text,
                                       p_name text, p_at timestamptz)
RETURNS TABLE (exception_id uuid, exception_expires_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT e.id, e.expires_at FROM exceptions e
    WHERE e.state = 'approved' AND e.check_id = p_check
      AND palisade_exception_covers(e, p_cluster, p_group, p_check, p_namespace, p_name, p_at)
    ORDER BY e.expires_at DESC, e.id
    LIMIT 1
$$;
