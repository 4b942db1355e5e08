//! Keyrings (issue 16): without KeyringMode= (systemd's default for a service is `private`) and
//! with KeyringMode=private, the payload reaches no keyring of the caller's uid: it can neither
//! find nor read a key the caller put in its user keyring (`@u`), nor plant one there, through
//! `@u` or through the keyring's serial number (a uid's user keyring grants its uid every right,
//! whatever namespace asks). Control: KeyringMode=shared, where the payload's keyring is linked
//! to the uid's user keyring and a key planted by serial lands in the caller's keyring.
//!
//! The keys are `user` keys in the caller's user keyring, made by the probe run on the host
//! (this machine's root session keyring belongs to uid 65534, so `@s` is no test of anything).

#[macro_use]
mod common;

use common::*;

/// Names the keys a test makes or plants, and removes them from the caller's user keyring
/// when the test ends, so that runs do not fill the test user's key quota.
struct Keys<'a> {
    ctx: &'a Ctx,
    names: std::cell::RefCell<Vec<String>>,
}

impl<'a> Keys<'a> {
    fn new(ctx: &'a Ctx) -> Self {
        Keys { ctx, names: Default::default() }
    }

    fn name(&self, what: &str) -> String {
        let n = self.ctx.unique(what);
        self.names.borrow_mut().push(n.clone());
        n
    }

    /// A key in the caller's user keyring: (description, key serial, user keyring serial).
    fn on_host(&self) -> (String, String, String) {
        let desc = self.name("key");
        let h = self.ctx.direct(&["key-add", &desc, "host-secret", "@u", "keyring-id", "@u"]);
        (desc, h.ok(0).to_string(), h.ok(1).to_string())
    }
}

impl Drop for Keys<'_> {
    fn drop(&mut self) {
        for name in self.names.borrow().iter() {
            let found = self.ctx.direct_cmd(&["key-search", "@u", name]).run();
            if found.is_ok(0) {
                let _ = self.ctx.direct_cmd(&["key-unlink", found.ok(0), "@u"]).run();
            }
        }
    }
}

/// Whether the caller's user keyring (on the host) holds a `user` key named `desc`.
fn host_has(ctx: &Ctx, desc: &str) -> bool {
    ctx.direct_cmd(&["key-search", "@u", desc]).run().is_ok(0)
}

/// Runs the four ways in and returns the output: find the host key through `@u`, read it by
/// serial, plant a key by the user keyring's serial, plant one through `@u`.
fn try_keyrings(keys: &Keys, sbx_args: &[&str], desc: &str, key: &str, ring: &str) -> (Output, [String; 2]) {
    let ctx = keys.ctx;
    let planted = [keys.name("planted-serial"), keys.name("planted-at-u")];
    let ops = [
        "key-search",
        "@u",
        desc,
        "key-read",
        key,
        "key-add",
        &planted[0],
        "x",
        ring,
        "key-add",
        &planted[1],
        "x",
        "@u",
    ];
    let out = ctx.run_probe(sbx_args, &ops);
    out.assert_code(0);
    (out, planted)
}

fn assert_sealed(ctx: &Ctx, what: &str, sbx_args: &[&str]) {
    let keys = Keys::new(ctx);
    let (desc, key, ring) = keys.on_host();
    let (t, planted) = try_keyrings(&keys, sbx_args, &desc, &key, &ring);
    assert!(!t.is_ok(0), "{what}: the payload found the caller's key through @u\n{t}");
    assert!(!t.is_ok(1), "{what}: the payload read the caller's key by serial\n{t}");
    assert!(!t.is_ok(2), "{what}: the payload added a key to the caller's user keyring by serial\n{t}");
    for p in &planted {
        assert!(!host_has(ctx, p), "{what}: {p} landed in the caller's user keyring\n{t}");
    }
}

/// Control: with KeyringMode=shared the same payload plants a key in the caller's user keyring
/// by serial (and, as root, where `@u` is the host's, finds the caller's key through it).
fn assert_open_under_shared(ctx: &Ctx) {
    let keys = Keys::new(ctx);
    let (desc, key, ring) = keys.on_host();
    let args = bare_args(&ctx.bare(), &["KeyringMode=shared"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (c, planted) = try_keyrings(&keys, &args, &desc, &key, &ring);
    assert!(c.is_ok(2) && host_has(ctx, &planted[0]), "control: a key planted by serial lands\n{c}");
    if ctx.is_root() {
        assert_eq!(c.ok(0), key, "control: as root, @u is the host's user keyring\n{c}");
    }
}

sbx_test!(issue_16_no_keyring_mode_keeps_the_payload_out_of_the_user_keyring, |ctx| {
    // What `sbx analyze` says of a profile without the directive is what the run then does.
    let line = |o: &Output| o.stdout.lines().find(|l| l.contains("KeyringMode=")).unwrap_or("").to_string();
    let analyzed = ctx.run(&["analyze", "--profile", &ctx.bare()]);
    analyzed.assert_code(0);
    assert!(line(&analyzed).contains("keyring of its own"), "{analyzed}");
    let shared = ctx.run(&["analyze", "--profile", &ctx.bare(), "-p", "KeyringMode=shared"]);
    assert!(!line(&shared).contains("keyring of its own"), "control\n{shared}");
    assert_sealed(ctx, "no KeyringMode=", &["--profile", &ctx.bare()]);
    assert_sealed(ctx, "the default profile", &["--profile", "default"]);
    assert_open_under_shared(ctx);
});

sbx_test!(issue_16_keyring_mode_private_keeps_the_payload_out_of_the_user_keyring, |ctx| {
    assert_sealed(ctx, "KeyringMode=private", &["--profile", &ctx.bare(), "-p", "KeyringMode=private"]);
    assert_sealed(
        ctx,
        "KeyringMode=private, SystemCallFilter=@keyring",
        &["--profile", &ctx.bare(), "-p", "KeyringMode=private", "-p", "SystemCallFilter=@system-service @keyring"],
    );
    assert_open_under_shared(ctx);
});

sbx_test!(issue_16_a_unit_without_keyring_mode_keeps_the_payload_out_of_the_user_keyring, |ctx| {
    let keys = Keys::new(ctx);
    let (desc, key, ring) = keys.on_host();
    let planted = keys.name("planted-unit");
    let probe = probe_path();
    let unit = ctx.write(
        "keys.service",
        &format!(
            "[Service]\nType=oneshot\nExecStart={} key-search @u {desc} key-read {key} key-add {planted} x {ring}\n",
            probe.display()
        ),
    );
    let t = ctx.run(&["run", "--unit", &unit]);
    t.assert_code(0);
    assert!(!t.is_ok(0) && !t.is_ok(1) && !t.is_ok(2), "the unit's payload reached the user keyring\n{t}");
    assert!(!host_has(ctx, &planted), "{t}");
    // Control: the same unit with KeyringMode=shared.
    let c = ctx.run(&["run", "--unit", &unit, "-p", "KeyringMode=shared"]);
    c.assert_code(0);
    assert!(c.is_ok(2) && host_has(ctx, &planted), "control\n{c}");
});
