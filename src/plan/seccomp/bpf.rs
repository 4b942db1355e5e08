//! Compiles a [`Filter`] to a classic BPF program for `SECCOMP_SET_MODE_FILTER`.
//!
//! Program layout, in execution order:
//!
//! ```text
//!   ld  arch          jeq audit_arch, next, ret(other_arch)
//!   ld  nr            [jge 0x40000000, ret(other_arch), next]       (reject_x32)
//!   binary search over number ranges: `jge lo` nodes; each leaf is either a return
//!   (a run of numbers with one constant action: listed, default or ENOSYS) or the
//!   rule block of one syscall, placed inline right where the tree reaches it
//!   rule block: per rule, per condition: ld word, [and mask], jeq/jgt/jge/jset
//!   returns, shared by every jump within reach
//! ```
//!
//! The program is generated back to front, so every jump target already has a place when
//! the jump is written. A conditional jump reaches at most 255 instructions forward; when
//! a target is farther, the compiler writes a copy of the return (for a return) or a
//! `ja` trampoline (anything else) just before the jump, and reuses either while it stays
//! within reach.
//!
//! Invariant: every jump is forward and in range, the last instruction is a return, and the
//! program has at most [`MAX_INSNS`] instructions — otherwise `compile` returns an error.
//! The output depends only on the `Filter`. Nothing here makes a system call.

use super::{Action, Cmp, Cond, Filter, Rule, SyscallRules, Width};

/// One classic BPF instruction, laid out like the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// The kernel's limit on program length (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

pub const BPF_LD: u16 = 0x00;
pub const BPF_W: u16 = 0x00;
pub const BPF_ABS: u16 = 0x20;
pub const BPF_ALU: u16 = 0x04;
pub const BPF_AND: u16 = 0x50;
pub const BPF_JMP: u16 = 0x05;
pub const BPF_JA: u16 = 0x00;
pub const BPF_JEQ: u16 = 0x10;
pub const BPF_JGT: u16 = 0x20;
pub const BPF_JGE: u16 = 0x30;
pub const BPF_JSET: u16 = 0x40;
pub const BPF_K: u16 = 0x00;
pub const BPF_RET: u16 = 0x06;

/// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;
/// Bit 30 of the syscall number marks the x32 ABI on x86_64.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const ENOSYS: u16 = 38;
/// Farthest forward reach of a conditional jump.
const MAX_JUMP: usize = u8::MAX as usize;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("the filter needs {len} BPF instructions, more than the kernel's limit of {MAX_INSNS}")]
    TooLong { len: usize },
    #[error("syscall {nr}: argument index {arg} is out of range (0..=5)")]
    BadArgument { nr: u32, arg: u8 },
    /// A bug in this compiler, reported instead of writing a wrong program.
    #[error("internal error: a jump of {distance} instructions is out of range")]
    JumpOutOfRange { distance: usize },
}

/// Compile `f` to a program whose return value is `f`'s decision for any `seccomp_data`.
pub fn compile(f: &Filter) -> Result<Vec<Insn>, CompileError> {
    let blocks = listed(f)?;
    let segs = segments(f, &blocks);
    let mut e = Emitter::default();
    // The kernel requires the last instruction to be a return.
    e.ret(f.default.ret());
    let tree = e.tree(&segs)?;
    let other = Target::Ret(f.other_arch.ret());
    let checked = if f.reject_x32 { e.jump(BPF_JGE, X32_SYSCALL_BIT, other, tree)? } else { tree };
    let loaded = e.load(OFF_NR, checked)?;
    let arch = e.jump(BPF_JEQ, f.audit_arch, loaded, other)?;
    e.load(OFF_ARCH, arch)?;
    let mut prog = e.rev;
    prog.reverse();
    if prog.len() > MAX_INSNS {
        return Err(CompileError::TooLong { len: prog.len() });
    }
    Ok(prog)
}

impl Insn {
    fn stmt(code: u16, k: u32) -> Insn {
        Insn { code, jt: 0, jf: 0, k }
    }
}

/// A syscall's decision after simplification: rules whose every condition can fail.
#[derive(Debug)]
struct Block {
    rules: Vec<Rule>,
    otherwise: Action,
}

/// What the search tree reaches for a range of numbers.
#[derive(Debug, Clone, Copy)]
enum Leaf<'a> {
    Ret(u32),
    Block(&'a Block),
}

/// Numbers from `lo` up to the next segment's `lo` get `leaf`.
#[derive(Debug)]
struct Segment<'a> {
    lo: u32,
    leaf: Leaf<'a>,
}

/// The listed syscalls the program can reach, ascending by number; for a number listed twice
/// the first entry wins, as it would in a linear scan.
fn listed(f: &Filter) -> Result<Vec<(u32, Block)>, CompileError> {
    for s in &f.syscalls {
        for c in s.rules.iter().flat_map(|r| &r.conds) {
            if c.arg > 5 {
                return Err(CompileError::BadArgument { nr: s.nr, arg: c.arg });
            }
        }
    }
    let mut reachable: Vec<&SyscallRules> =
        f.syscalls.iter().filter(|s| !(f.reject_x32 && s.nr >= X32_SYSCALL_BIT)).collect(); // x32: answered by the x32 check
    reachable.sort_by_key(|s| s.nr); // stable: the first of equal numbers stays first
    reachable.dedup_by_key(|s| s.nr);
    Ok(reachable.into_iter().map(|s| (s.nr, simplify(&s.rules, s.otherwise))).collect())
}

/// Drop conditions that always hold and rules that can never match, stop at the first
/// unconditional rule, and drop trailing rules that decide like `otherwise`.
fn simplify(rules: &[Rule], otherwise: Action) -> Block {
    let mut block = Block { rules: Vec::new(), otherwise };
    for r in rules {
        let Some(conds) = live_conds(&r.conds) else { continue };
        if conds.is_empty() {
            block.otherwise = r.action;
            break;
        }
        block.rules.push(Rule { conds, action: r.action });
    }
    while block.rules.last().is_some_and(|r| r.action == block.otherwise) {
        block.rules.pop();
    }
    block
}

/// The conditions that depend on the argument, or `None` if one of them never holds.
fn live_conds(conds: &[Cond]) -> Option<Vec<Cond>> {
    let mut live = Vec::new();
    for c in conds {
        match constant(c) {
            Some(true) => {}
            Some(false) => return None,
            None => live.push(*c),
        }
    }
    Some(live)
}

/// `Some(result)` when a condition does not depend on the argument.
fn constant(c: &Cond) -> Option<bool> {
    let max = match c.width {
        Width::Dword => u64::from(u32::MAX),
        Width::Qword => u64::MAX,
    };
    let v = c.value & max;
    match c.cmp {
        Cmp::MaskedEq(m) if v & !m != 0 => Some(false),
        Cmp::MaskedEq(m) if m & max == 0 => Some(true),
        Cmp::Lt if v == 0 => Some(false),
        Cmp::Ge if v == 0 => Some(true),
        Cmp::Le if v == max => Some(true),
        Cmp::Gt if v == max => Some(false),
        _ => None,
    }
}

/// Partition the reachable numbers into ranges, merging neighbours with one constant action.
fn segments<'a>(f: &Filter, blocks: &'a [(u32, Block)]) -> Vec<Segment<'a>> {
    let top = if f.reject_x32 { u64::from(X32_SYSCALL_BIT) - 1 } else { u64::from(u32::MAX) };
    let mut segs = Vec::new();
    let mut next = 0u64;
    for &(nr, ref block) in blocks {
        unlisted(f, next, u64::from(nr), &mut segs);
        let leaf = if block.rules.is_empty() { Leaf::Ret(block.otherwise.ret()) } else { Leaf::Block(block) };
        push(&mut segs, u64::from(nr), leaf);
        next = u64::from(nr) + 1;
    }
    unlisted(f, next, top + 1, &mut segs);
    segs
}

/// Segments for the unlisted numbers `lo..end`: the default, then ENOSYS above the table.
fn unlisted(f: &Filter, lo: u64, end: u64, segs: &mut Vec<Segment<'_>>) {
    let split = f.enosys_above.map_or(u64::MAX, |n| u64::from(n) + 1);
    if lo < end.min(split) {
        push(segs, lo, Leaf::Ret(f.default.ret()));
    }
    if lo.max(split) < end {
        push(segs, lo.max(split), Leaf::Ret(Action::Errno(ENOSYS).ret()));
    }
}

fn push<'a>(segs: &mut Vec<Segment<'a>>, lo: u64, leaf: Leaf<'a>) {
    if let (Some(Segment { leaf: Leaf::Ret(a), .. }), Leaf::Ret(b)) = (segs.last(), leaf) {
        if *a == b {
            return; // same action as the numbers below: extend that segment
        }
    }
    // Callers pass numbers below 2^32: listed numbers, or unlisted ones below `end`.
    segs.push(Segment { lo: u32::try_from(lo).unwrap_or(u32::MAX), leaf });
}

/// Where control goes: a return of this value (any copy will do) or an emitted instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Ret(u32),
    /// Index in `Emitter::rev`, counted from the end of the program.
    At(usize),
}

/// Writes the program back to front: `rev[0]` is the last instruction.
#[derive(Default)]
struct Emitter {
    rev: Vec<Insn>,
    /// The latest (nearest) return of each value: (value, index). A handful of values, so a
    /// list searched in order beats hashing.
    rets: Vec<(u32, usize)>,
    /// The latest `ja` trampoline to each instruction: (target, trampoline).
    trampolines: Vec<(usize, usize)>,
}

/// Sets `key`'s value in a small association list.
fn remember<K: PartialEq>(list: &mut Vec<(K, usize)>, key: K, at: usize) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = at,
        None => list.push((key, at)),
    }
}

fn recall<K: PartialEq>(list: &[(K, usize)], key: K) -> Option<usize> {
    list.iter().find(|(k, _)| *k == key).map(|(_, at)| *at)
}

impl Emitter {
    fn push(&mut self, insn: Insn) -> usize {
        self.rev.push(insn);
        self.rev.len() - 1
    }

    fn ret(&mut self, value: u32) -> usize {
        let at = self.push(Insn::stmt(BPF_RET | BPF_K, value));
        remember(&mut self.rets, value, at);
        at
    }

    /// Whether a jump written after `extra` more instructions could reach `at`.
    fn reaches(&self, at: usize, extra: usize) -> bool {
        self.rev.len() + extra - at - 1 <= MAX_JUMP
    }

    /// An instruction equivalent to `t` that a jump written after `extra` more instructions
    /// reaches (writing a return copy or a trampoline if needed).
    fn resolve(&mut self, t: Target, extra: usize) -> Result<usize, CompileError> {
        match t {
            Target::Ret(v) => match recall(&self.rets, v) {
                Some(at) if self.reaches(at, extra) => Ok(at),
                _ => Ok(self.ret(v)),
            },
            Target::At(at) if self.reaches(at, extra) => Ok(at),
            Target::At(at) => match recall(&self.trampolines, at) {
                Some(tr) if self.reaches(tr, extra) => Ok(tr),
                _ => {
                    let k = self.offset(at)?;
                    let tr = self.push(Insn::stmt(BPF_JMP | BPF_JA, k));
                    remember(&mut self.trampolines, at, tr);
                    Ok(tr)
                }
            },
        }
    }

    /// The forward offset from the next instruction written to `at`.
    fn offset(&self, at: usize) -> Result<u32, CompileError> {
        let distance = self.rev.len() - at - 1;
        u32::try_from(distance).map_err(|_| CompileError::JumpOutOfRange { distance })
    }

    /// `if A <op> k goto t else goto f`.
    fn jump(&mut self, op: u16, k: u32, t: Target, f: Target) -> Result<Target, CompileError> {
        if t == f {
            return Ok(t);
        }
        let jf = self.resolve(f, 1)?;
        let jt = self.resolve(t, 0)?;
        if jt == jf {
            return Ok(Target::At(jt));
        }
        let short = |at| {
            let distance = self.rev.len() - at - 1;
            u8::try_from(distance).map_err(|_| CompileError::JumpOutOfRange { distance })
        };
        let insn = Insn { code: BPF_JMP | op | BPF_K, jt: short(jt)?, jf: short(jf)?, k };
        Ok(Target::At(self.push(insn)))
    }

    /// A non-jump instruction followed by `next`.
    fn stmt(&mut self, code: u16, k: u32, next: Target) -> Result<Target, CompileError> {
        let last = self.rev.len().checked_sub(1);
        let adjacent = match next {
            Target::At(at) => Some(at) == last,
            Target::Ret(v) => last.is_some() && recall(&self.rets, v) == last,
        };
        if !adjacent {
            match next {
                Target::Ret(v) => {
                    self.ret(v);
                }
                Target::At(at) => {
                    let k = self.offset(at)?;
                    self.push(Insn::stmt(BPF_JMP | BPF_JA, k));
                }
            }
        }
        Ok(Target::At(self.push(Insn::stmt(code, k))))
    }

    fn load(&mut self, offset: u32, next: Target) -> Result<Target, CompileError> {
        self.stmt(BPF_LD | BPF_W | BPF_ABS, offset, next)
    }

    /// The search tree over `segs` (numbers in A); rule blocks are placed at their leaves.
    fn tree(&mut self, segs: &[Segment<'_>]) -> Result<Target, CompileError> {
        match segs {
            [] => Ok(Target::Ret(Action::KillProcess.ret())), // unreachable: segments cover 0..
            [one] => match one.leaf {
                Leaf::Ret(v) => Ok(Target::Ret(v)),
                Leaf::Block(b) => self.block(b),
            },
            _ => {
                let (left, right) = segs.split_at(segs.len() / 2);
                let above = self.tree(right)?;
                let below = self.tree(left)?;
                self.jump(BPF_JGE, right[0].lo, above, below)
            }
        }
    }

    /// One syscall's rules in order, then `otherwise`.
    fn block(&mut self, b: &Block) -> Result<Target, CompileError> {
        let mut next = Target::Ret(b.otherwise.ret());
        for rule in b.rules.iter().rev() {
            let mut all = Target::Ret(rule.action.ret());
            for c in rule.conds.iter().rev() {
                all = self.cond(c, all, next)?;
            }
            next = all;
        }
        Ok(next)
    }

    /// Go to `t` if `c` holds, else to `f`.
    fn cond(&mut self, c: &Cond, t: Target, f: Target) -> Result<Target, CompileError> {
        let lo_off = OFF_ARGS + 8 * u32::from(c.arg);
        let (vh, vl) = halves(c.value);
        let (mh, ml) = match c.cmp {
            Cmp::MaskedEq(m) => halves(m),
            _ => (u32::MAX, u32::MAX),
        };
        let lo = self.word(lo_off, c.cmp, vl, ml, t, f)?;
        if c.width == Width::Dword {
            return Ok(lo);
        }
        match c.cmp {
            Cmp::Eq => self.word(lo_off + 4, Cmp::Eq, vh, mh, lo, f),
            Cmp::Ne => self.word(lo_off + 4, Cmp::Eq, vh, mh, lo, t),
            Cmp::MaskedEq(_) => self.word(lo_off + 4, c.cmp, vh, mh, lo, f),
            Cmp::Gt | Cmp::Ge => self.high_order(lo_off + 4, vh, lo, t, f),
            Cmp::Lt | Cmp::Le => self.high_order(lo_off + 4, vh, lo, f, t),
        }
    }

    /// High word of an ordered compare: above `vh` → `above`, equal → `lo`, below → `below`.
    fn high_order(
        &mut self,
        off: u32,
        vh: u32,
        lo: Target,
        above: Target,
        below: Target,
    ) -> Result<Target, CompileError> {
        let equal = if vh == 0 { lo } else { self.jump(BPF_JEQ, vh, lo, below)? };
        let test = if vh == u32::MAX { equal } else { self.jump(BPF_JGT, vh, above, equal)? };
        self.load(off, test)
    }

    /// Load the 32-bit word at `off` and compare it with `v` (under mask `m` for MaskedEq).
    fn word(&mut self, off: u32, cmp: Cmp, v: u32, m: u32, t: Target, f: Target) -> Result<Target, CompileError> {
        let test = match cmp {
            Cmp::Eq => self.jump(BPF_JEQ, v, t, f)?,
            Cmp::Ne => self.jump(BPF_JEQ, v, f, t)?,
            Cmp::MaskedEq(_) if m == 0 => return Ok(t), // this half always matches
            Cmp::MaskedEq(_) if v & !m != 0 => return Ok(f), // this half never matches
            Cmp::MaskedEq(_) if m == u32::MAX => self.jump(BPF_JEQ, v, t, f)?,
            Cmp::MaskedEq(_) if v == 0 => self.jump(BPF_JSET, m, f, t)?,
            Cmp::MaskedEq(_) => {
                let eq = self.jump(BPF_JEQ, v, t, f)?;
                self.stmt(BPF_ALU | BPF_AND | BPF_K, m, eq)?
            }
            Cmp::Lt => self.jump(BPF_JGE, v, f, t)?,
            Cmp::Le => self.jump(BPF_JGT, v, f, t)?,
            Cmp::Gt => self.jump(BPF_JGT, v, t, f)?,
            Cmp::Ge => self.jump(BPF_JGE, v, t, f)?,
        };
        self.load(off, test)
    }
}

/// (high, low) 32-bit halves.
fn halves(x: u64) -> (u32, u32) {
    ((x >> 32) as u32, x as u32)
}

#[cfg(test)]
mod tests {
    use super::super::interp::{Data, run};
    use super::super::{Action, Cmp, Cond, Filter, Rule, SyscallRules, Width};
    use super::*;
    use proptest::prelude::*;

    const X86_64: u32 = 0xc000_003e;
    const ALLOW: u32 = 0x7fff_0000;
    const KILL: u32 = 0x8000_0000;

    /// The semantics of a `Filter`, written directly.
    fn reference(f: &Filter, d: &Data) -> u32 {
        if d.arch != f.audit_arch || (f.reject_x32 && d.nr >= 0x4000_0000) {
            return f.other_arch.ret();
        }
        if let Some(s) = f.syscalls.iter().find(|s| s.nr == d.nr) {
            let rule = s.rules.iter().find(|r| r.conds.iter().all(|c| holds(c, d)));
            return rule.map_or(s.otherwise, |r| r.action).ret();
        }
        if f.enosys_above.is_some_and(|n| d.nr > n) {
            return Action::Errno(38).ret();
        }
        f.default.ret()
    }

    fn holds(c: &Cond, d: &Data) -> bool {
        let w = match c.width {
            Width::Dword => u64::from(u32::MAX),
            Width::Qword => u64::MAX,
        };
        let (x, v) = (d.args[usize::from(c.arg)] & w, c.value & w);
        match c.cmp {
            Cmp::Eq => x == v,
            Cmp::Ne => x != v,
            Cmp::MaskedEq(m) => x & m & w == v,
            Cmp::Lt => x < v,
            Cmp::Le => x <= v,
            Cmp::Gt => x > v,
            Cmp::Ge => x >= v,
        }
    }

    /// What the kernel's checker demands, for every instruction (not only those a run visits).
    fn assert_valid(prog: &[Insn]) {
        assert!(!prog.is_empty() && prog.len() <= MAX_INSNS);
        assert_eq!(prog.last().map(|i| i.code), Some(BPF_RET | BPF_K), "must end in a return");
        for (pc, i) in prog.iter().enumerate() {
            let reach = |off: usize| assert!(pc + 1 + off < prog.len(), "jump out of range at {pc}: {i:?}");
            match i.code {
                c if c == BPF_JMP | BPF_JA => reach(i.k as usize),
                c if c & 0x07 == BPF_JMP => (reach(i.jt.into()), reach(i.jf.into())).1,
                c if c == BPF_LD | BPF_W | BPF_ABS => assert!(i.k % 4 == 0 && i.k < 64),
                _ => {}
            }
        }
    }

    fn compiled(f: &Filter) -> Vec<Insn> {
        let prog = compile(f).expect("compiles");
        assert_valid(&prog);
        prog
    }

    fn filter(syscalls: Vec<SyscallRules>) -> Filter {
        let (other_arch, reject_x32, default) = (Action::KillProcess, true, Action::Errno(1));
        Filter { audit_arch: X86_64, other_arch, reject_x32, enosys_above: Some(500), syscalls, default }
    }

    fn allow(nr: u32) -> SyscallRules {
        SyscallRules { nr, rules: vec![], otherwise: Action::Allow }
    }

    fn cond(arg: u8, width: Width, cmp: Cmp, value: u64) -> Cond {
        Cond { arg, width, cmp, value }
    }

    fn rule(conds: Vec<Cond>, action: Action) -> Rule {
        Rule { conds, action }
    }

    fn call(nr: u32, args: [u64; 6]) -> Data {
        Data { nr, arch: X86_64, ip: 0, args }
    }

    /// The result for syscall 16 with argument 1 set to `arg`, under one condition.
    fn one(c: Cond, arg: u64) -> u32 {
        let s = SyscallRules { nr: 16, rules: vec![rule(vec![c], Action::Allow)], otherwise: Action::Errno(13) };
        let f = filter(vec![s]);
        let d = call(16, [0, arg, 0, 0, 0, 0]);
        let got = run(&compiled(&f), &d);
        assert_eq!(got, reference(&f, &d), "{c:?} on {arg:#x}");
        got
    }

    fn holds_on(c: Cond, arg: u64) -> bool {
        one(Cond { arg: 1, ..c }, arg) == ALLOW
    }

    #[test]
    fn other_architecture_gets_other_arch() {
        let f = filter(vec![allow(0)]);
        assert_eq!(run(&compiled(&f), &Data { arch: 0x4000_0003, ..call(0, [0; 6]) }), KILL);
        assert_eq!(run(&compiled(&f), &call(0, [0; 6])), ALLOW);
    }

    #[test]
    fn x32_numbers_get_other_arch() {
        let f = filter(vec![allow(0), allow(0x4000_0000)]);
        let prog = compiled(&f);
        for nr in [0x4000_0000, 0x4000_0001, 0x7fff_ffff, u32::MAX] {
            assert_eq!(run(&prog, &call(nr, [0; 6])), KILL, "{nr:#x}");
        }
        let f = Filter { reject_x32: false, ..f };
        assert_eq!(run(&compiled(&f), &call(0x4000_0000, [0; 6])), ALLOW);
    }

    #[test]
    fn listed_unlisted_and_above_the_table() {
        let f = filter(vec![allow(0), allow(1), SyscallRules { nr: 600, rules: vec![], otherwise: Action::Log }]);
        let prog = compiled(&f);
        let at = |nr| run(&prog, &call(nr, [0; 6]));
        assert_eq!((at(0), at(1), at(600)), (ALLOW, ALLOW, Action::Log.ret()));
        assert_eq!((at(2), at(500)), (Action::Errno(1).ret(), Action::Errno(1).ret()));
        assert_eq!((at(501), at(599), at(601)), (Action::Errno(38).ret(), 0x0005_0026, 0x0005_0026));
        let f = Filter { enosys_above: None, ..f };
        assert_eq!(run(&compiled(&f), &call(501, [0; 6])), Action::Errno(1).ret());
    }

    #[test]
    fn every_comparison_in_both_widths() {
        use Cmp::*;
        let (d, q) = (Width::Dword, Width::Qword);
        let c = |width, cmp, value| cond(1, width, cmp, value);
        assert!(holds_on(c(d, Eq, 5), 5) && !holds_on(c(d, Eq, 5), 6));
        assert!(holds_on(c(d, Ne, 5), 6) && !holds_on(c(d, Ne, 5), 5));
        assert!(holds_on(c(d, Lt, 5), 4) && !holds_on(c(d, Lt, 5), 5));
        assert!(holds_on(c(d, Le, 5), 5) && !holds_on(c(d, Le, 5), 6));
        assert!(holds_on(c(d, Gt, 5), 6) && !holds_on(c(d, Gt, 5), 5));
        assert!(holds_on(c(d, Ge, 5), 5) && !holds_on(c(d, Ge, 5), 4));
        assert!(holds_on(c(d, MaskedEq(0xf0), 0x30), 0x3f) && !holds_on(c(d, MaskedEq(0xf0), 0x30), 0x4f));
        assert!(holds_on(c(d, MaskedEq(0x80), 0), 0x7f) && !holds_on(c(d, MaskedEq(0x80), 0), 0x80));
        assert!(holds_on(c(q, Eq, 5), 5) && !holds_on(c(q, Eq, 5), 0x1_0000_0005));
        assert!(holds_on(c(q, Ne, 5), 0x1_0000_0005) && !holds_on(c(q, Ne, 5), 5));
        assert!(holds_on(c(q, MaskedEq(0xff_0000_00ff), 0x12_0000_0034), 0x7712_5555_6634));
        assert!(!holds_on(c(q, MaskedEq(0xff_0000_00ff), 0x12_0000_0034), 0x7713_5555_6634));
        assert!(!holds_on(c(q, MaskedEq(0xff_0000_00ff), 0x12_0000_0034), 0x7712_5555_6635));
        assert!(!holds_on(c(q, MaskedEq(1 << 40), 0), 1 << 40) && holds_on(c(q, MaskedEq(1 << 40), 0), 1 << 39));
    }

    #[test]
    fn qword_order_uses_the_high_word() {
        use Cmp::*;
        let c = |cmp| cond(1, Width::Qword, cmp, 0x1_0000_0000);
        let cases = [(0xffff_ffff, [true, true, false, false]), (0x1_0000_0000, [false, true, false, true])];
        for (arg, [lt, le, gt, ge]) in cases {
            assert_eq!(
                [holds_on(c(Lt), arg), holds_on(c(Le), arg), holds_on(c(Gt), arg), holds_on(c(Ge), arg)],
                [lt, le, gt, ge]
            );
        }
        assert!(holds_on(c(Gt), 0x1_0000_0001) && holds_on(c(Gt), 0x2_0000_0000) && !holds_on(c(Lt), u64::MAX));
        assert!(holds_on(c(Lt), 0) && holds_on(c(Ge), u64::MAX) && !holds_on(c(Ge), 0));
        let big = |cmp| cond(1, Width::Qword, cmp, 0xffff_ffff_0000_0005);
        assert!(holds_on(big(Gt), 0xffff_ffff_0000_0006) && !holds_on(big(Gt), 0xffff_fffe_ffff_ffff));
        assert!(holds_on(big(Le), 0xffff_ffff_0000_0005) && !holds_on(big(Le), u64::MAX));
    }

    #[test]
    fn dword_ignores_the_high_word() {
        use Cmp::*;
        let c = |cmp, value| cond(1, Width::Dword, cmp, value);
        assert!(holds_on(c(Eq, 0x5412), 0x1_0000_5412) && holds_on(c(Eq, 0x5412), 0xffff_ffff_0000_5412));
        assert!(holds_on(c(Eq, 0xffff_ffff_0000_5412), 0x5412), "the value's high word is ignored too");
        assert!(holds_on(c(Lt, 1), 0x7_0000_0000) && !holds_on(c(Gt, 0), 0x7_0000_0000));
        assert!(holds_on(c(Ge, 0xffff_ffff), u64::MAX) && !holds_on(c(Ne, 0xffff_ffff), 0xffff_ffff));
    }

    #[test]
    fn constant_conditions() {
        use Cmp::*;
        for (width, cmp, value, want) in [
            (Width::Qword, Lt, 0, false),
            (Width::Qword, Ge, 0, true),
            (Width::Qword, Le, u64::MAX, true),
            (Width::Qword, Gt, u64::MAX, false),
            (Width::Dword, Gt, 0xffff_ffff, false),
            (Width::Dword, Le, 0xffff_ffff, true),
            (Width::Qword, MaskedEq(0xf0), 0x0f, false),
            (Width::Dword, MaskedEq(0xffff_ffff_0000_0000), 0, true),
        ] {
            for arg in [0, 5, u64::MAX] {
                assert_eq!(holds_on(cond(1, width, cmp, value), arg), want, "{cmp:?} {value:#x} on {arg:#x}");
            }
        }
    }

    #[test]
    fn first_matching_rule_wins_else_otherwise() {
        let rules = vec![
            rule(vec![cond(0, Width::Qword, Cmp::Eq, 1), cond(2, Width::Dword, Cmp::Gt, 9)], Action::Errno(5)),
            rule(vec![cond(0, Width::Qword, Cmp::Eq, 1)], Action::Allow),
            rule(vec![cond(5, Width::Qword, Cmp::Ne, 0)], Action::Notify),
        ];
        let f = filter(vec![SyscallRules { nr: 41, rules, otherwise: Action::Errno(97) }, allow(42)]);
        let prog = compiled(&f);
        let at = |args| run(&prog, &call(41, args));
        assert_eq!(at([1, 0, 10, 0, 0, 7]), Action::Errno(5).ret());
        assert_eq!(at([1, 0, 9, 0, 0, 7]), ALLOW);
        assert_eq!(at([2, 0, 10, 0, 0, 7]), Action::Notify.ret());
        assert_eq!(at([2, 0, 10, 0, 0, 0]), Action::Errno(97).ret());
        assert_eq!(run(&prog, &call(42, [0; 6])), ALLOW);
    }

    #[test]
    fn an_unconditional_rule_ends_the_list_and_a_duplicate_number_loses() {
        let rules = vec![rule(vec![], Action::Log), rule(vec![], Action::Allow)];
        let f = filter(vec![SyscallRules { nr: 3, rules, otherwise: Action::KillProcess }, allow(3)]);
        assert_eq!(run(&compiled(&f), &call(3, [0; 6])), Action::Log.ret());
    }

    #[test]
    fn argument_index_is_checked() {
        let s = SyscallRules {
            nr: 9,
            rules: vec![rule(vec![cond(6, Width::Qword, Cmp::Eq, 0)], Action::Allow)],
            otherwise: Action::Allow,
        };
        assert_eq!(compile(&filter(vec![s])), Err(CompileError::BadArgument { nr: 9, arg: 6 }));
    }

    /// 450 allowed numbers with holes (every fourth of 0..600 is missing) and 10 with rules.
    fn realistic() -> Filter {
        let mut syscalls: Vec<_> = (0..600).filter(|n| n % 4 != 1).map(allow).collect();
        let flags = |nr, arg, mask| SyscallRules {
            nr,
            rules: vec![rule(vec![cond(arg, Width::Qword, Cmp::MaskedEq(mask), 0)], Action::Allow)],
            otherwise: Action::Errno(1),
        };
        syscalls.extend([flags(56, 0, 0x7e02_0000), flags(435, 1, 0x7e02_0000), flags(9, 2, 4), flags(10, 2, 4)]);
        let ioctl =
            [0x5401, 0x5402, 0x5412, 0x541b].map(|v| rule(vec![cond(1, Width::Dword, Cmp::Eq, v)], Action::Allow));
        syscalls.push(SyscallRules { nr: 16, rules: ioctl.to_vec(), otherwise: Action::Errno(1) });
        let socket = [1, 2, 10, 16].map(|v| rule(vec![cond(0, Width::Dword, Cmp::Eq, v)], Action::Allow));
        syscalls.push(SyscallRules { nr: 41, rules: socket.to_vec(), otherwise: Action::Errno(97) });
        for (nr, cmp, v) in [(135, Cmp::Eq, 0), (157, Cmp::Ne, 4), (200, Cmp::Lt, 64), (310, Cmp::Le, 0x1_0000_0000)] {
            syscalls.push(SyscallRules {
                nr,
                rules: vec![rule(vec![cond(0, Width::Qword, cmp, v)], Action::Allow)],
                otherwise: Action::Errno(1),
            });
        }
        syscalls.sort_by_key(|s| (s.nr, !s.rules.is_empty())); // conditional entries after their plain ones…
        syscalls.reverse(); // …then first, so they win
        Filter { default: Action::KillProcess, enosys_above: Some(600), ..filter(syscalls) }
    }

    #[test]
    fn realistic_filter_fits() {
        let f = realistic();
        let prog = compiled(&f);
        eprintln!("realistic filter: {} instructions", prog.len());
        assert!(prog.len() < 1000, "{} instructions", prog.len());
        assert_eq!(run(&prog, &call(16, [3, 0x1_0000_5412, 0, 0, 0, 0])), ALLOW);
        assert_eq!(run(&prog, &call(16, [3, 0x5413, 0, 0, 0, 0])), Action::Errno(1).ret());
        assert_eq!(run(&prog, &call(56, [0x1000_0000, 0, 0, 0, 0, 0])), Action::Errno(1).ret());
        assert_eq!(run(&prog, &call(56, [0x11, 0, 0, 0, 0, 0])), ALLOW);
        assert_eq!((run(&prog, &call(0, [0; 6])), run(&prog, &call(1, [0; 6]))), (ALLOW, KILL));
        assert_eq!(run(&prog, &call(601, [0; 6])), Action::Errno(38).ret());
        assert_eq!(compile(&f), compile(&f.clone()), "deterministic");
    }

    #[test]
    fn far_targets_go_through_trampolines() {
        let rules = |nr: u32| vec![rule(vec![cond(0, Width::Qword, Cmp::Lt, u64::from(nr) << 32 | 7)], Action::Allow)];
        let f = filter((0..300).map(|nr| SyscallRules { nr, rules: rules(nr), otherwise: Action::Errno(1) }).collect());
        let prog = compiled(&f);
        assert!(prog.iter().any(|i| i.code == BPF_JMP | BPF_JA), "no long jump in {} instructions", prog.len());
        for nr in [0, 1, 150, 298, 299] {
            for arg in [0, u64::from(nr) << 32 | 6, u64::from(nr) << 32 | 7, u64::MAX] {
                let d = call(nr, [arg, 0, 0, 0, 0, 0]);
                assert_eq!(run(&prog, &d), reference(&f, &d), "nr {nr} arg {arg:#x}");
            }
        }
    }

    #[test]
    fn too_long_is_an_error() {
        let conds = |nr: u32| (0..3).map(|a| cond(a, Width::Qword, Cmp::Gt, u64::from(nr) << 32 | 1)).collect();
        let rules = |nr| {
            vec![rule(conds(nr), Action::Allow), rule(vec![cond(4, Width::Dword, Cmp::Eq, nr.into())], Action::Log)]
        };
        let f = filter((0..400).map(|nr| SyscallRules { nr, rules: rules(nr), otherwise: Action::Errno(1) }).collect());
        match compile(&f) {
            Err(CompileError::TooLong { len }) => assert!(len > MAX_INSNS),
            other => panic!("expected TooLong, got {:?}", other.map(|p| p.len())),
        }
    }

    // ---- property: the program decides like the Filter ----

    const EDGES: [u64; 9] =
        [0, 1, 0x5412, 0xffff_ffff, 1 << 32, 0x1_0000_5412, 0xffff_ffff_0000_0000, u64::MAX - 1, u64::MAX];

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            4 => Just(Action::Allow),
            2 => (0u16..4096).prop_map(Action::Errno),
            1 => Just(Action::KillProcess),
            1 => Just(Action::Notify),
            1 => Just(Action::Log),
        ]
    }

    fn value() -> impl Strategy<Value = u64> {
        let word = || prop_oneof![Just(0u64), Just(1), Just(0xffff_ffff), 0u64..16, any::<u32>().prop_map(u64::from)];
        prop_oneof![prop::sample::select(EDGES.to_vec()), (word(), word()).prop_map(|(h, l)| h << 32 | l), any::<u64>(),]
    }

    fn cmp() -> impl Strategy<Value = Cmp> {
        prop_oneof![
            Just(Cmp::Eq),
            Just(Cmp::Ne),
            value().prop_map(Cmp::MaskedEq),
            Just(Cmp::Lt),
            Just(Cmp::Le),
            Just(Cmp::Gt),
            Just(Cmp::Ge)
        ]
    }

    fn conds(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<Cond>> {
        let width = prop_oneof![Just(Width::Dword), Just(Width::Qword)];
        let one = (0u8..6, width, cmp(), value()).prop_map(|(arg, width, cmp, value)| Cond { arg, width, cmp, value });
        prop::collection::vec(one, n)
    }

    fn syscall() -> impl Strategy<Value = SyscallRules> {
        let nr = prop_oneof![8 => 0u32..600, 1 => prop::sample::select(vec![0x3fff_ffff, 0x4000_0000, u32::MAX - 1, u32::MAX])];
        let some_rules = prop::collection::vec((prop_oneof![9 => conds(1..=3), 1 => conds(0..=0)], action()), 1..=3);
        let rules = prop_oneof![6 => Just(vec![]), 1 => some_rules];
        (nr, rules, action()).prop_map(|(nr, rules, otherwise)| SyscallRules {
            nr,
            rules: rules.into_iter().map(|(conds, action)| Rule { conds, action }).collect(),
            otherwise,
        })
    }

    fn any_filter() -> impl Strategy<Value = Filter> {
        let enosys = prop_oneof![Just(None), (0u32..700).prop_map(Some), Just(Some(u32::MAX)), Just(Some(0))];
        let syscalls = prop::collection::vec(syscall(), 0..450);
        (action(), any::<bool>(), enosys, syscalls, action()).prop_map(
            |(other_arch, reject_x32, enosys_above, syscalls, default)| Filter {
                audit_arch: X86_64,
                other_arch,
                reject_x32,
                enosys_above,
                syscalls,
                default,
            },
        )
    }

    /// Values likely to sit on a condition's boundaries.
    fn pool(f: &Filter) -> Vec<u64> {
        let mut pool = EDGES.to_vec();
        for c in f.syscalls.iter().flat_map(|s| &s.rules).flat_map(|r| &r.conds) {
            let m = if let Cmp::MaskedEq(m) = c.cmp { m } else { 0 };
            let v = c.value;
            pool.extend([v, v.wrapping_add(1), v.wrapping_sub(1), v ^ 1 << 32, v ^ 0xffff_ffff_0000_0000, v | !m, m]);
        }
        pool
    }

    /// A call built from raw random words, aimed at listed numbers and boundary values.
    fn aim(f: &Filter, pool: &[u64], w: [u64; 8]) -> Data {
        let pick = |xs: &[u64], r: u64| xs[(r >> 8) as usize % xs.len()];
        let listed: Vec<u64> = f.syscalls.iter().map(|s| s.nr.into()).collect();
        let e = u64::from(f.enosys_above.unwrap_or(0));
        let edges = [0, e, e + 1, e.saturating_sub(1), 0x3fff_ffff, 0x4000_0000, 0xffff_ffff];
        let nr = match w[0] % 8 {
            0..6 if !listed.is_empty() => pick(&listed, w[0]),
            6 => pick(&edges, w[0]),
            _ => w[0] >> 32,
        };
        let arch = if w[1] % 10 == 0 { (w[1] >> 32) as u32 } else { X86_64 };
        let arg = |r: u64| match r % 4 {
            0 | 1 => pick(pool, r),
            2 => pick(&EDGES, r),
            _ => r,
        };
        let args = [arg(w[2]), arg(w[3]), arg(w[4]), arg(w[5]), arg(w[6]), arg(w[7])];
        Data { nr: nr as u32, arch, ip: w[7], args }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn program_decides_like_the_filter(f in any_filter(), calls in prop::collection::vec(any::<[u64; 8]>(), 64)) {
            let prog = match compile(&f) {
                Ok(prog) => prog,
                Err(CompileError::TooLong { len }) => { prop_assert!(len > MAX_INSNS); return Ok(()); }
                Err(e) => return Err(TestCaseError::fail(e.to_string())),
            };
            assert_valid(&prog);
            let pool = pool(&f);
            for w in calls {
                let d = aim(&f, &pool, w);
                prop_assert_eq!(run(&prog, &d), reference(&f, &d), "{:?}", d);
            }
        }
    }
}
