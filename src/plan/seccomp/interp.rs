//! A classic BPF interpreter for seccomp programs, used only by tests: it runs a compiled
//! program on one `seccomp_data` and returns the SECCOMP_RET value, as the kernel would.
//!
//! Invariant: it accepts only the instructions `bpf.rs` emits (32-bit absolute loads from
//! `seccomp_data`, `and` with a constant, `ja`/`jeq`/`jgt`/`jge`/`jset` with a constant,
//! `ret` of a constant) and panics on anything else, on a misaligned or out-of-bounds load,
//! on a jump past the end and on falling off the end — so a test can never pass on a
//! program the kernel would reject or run differently.

use super::bpf::{
    BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W,
    Insn, MAX_INSNS,
};

/// `struct seccomp_data`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl Data {
    /// The structure's 64 bytes as the kernel lays them out (little-endian).
    fn bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_le_bytes());
        b[4..8].copy_from_slice(&self.arch.to_le_bytes());
        b[8..16].copy_from_slice(&self.ip.to_le_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        b
    }
}

/// Run `prog` on `d`; the value of the `ret` it reaches.
pub fn run(prog: &[Insn], d: &Data) -> u32 {
    assert!(!prog.is_empty() && prog.len() <= MAX_INSNS, "program length {} out of range", prog.len());
    let data = d.bytes();
    let mut a: u32 = 0;
    let mut pc = 0usize;
    loop {
        let insn = prog.get(pc).unwrap_or_else(|| panic!("fell off the end of the program at {pc}"));
        let next = pc + 1;
        pc = match insn.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => {
                a = load(&data, insn.k);
                next
            }
            c if c == BPF_ALU | BPF_AND | BPF_K => {
                a &= insn.k;
                next
            }
            c if c == BPF_JMP | BPF_JA => next + insn.k as usize,
            c if c == BPF_JMP | BPF_JEQ | BPF_K => branch(insn, next, a == insn.k),
            c if c == BPF_JMP | BPF_JGT | BPF_K => branch(insn, next, a > insn.k),
            c if c == BPF_JMP | BPF_JGE | BPF_K => branch(insn, next, a >= insn.k),
            c if c == BPF_JMP | BPF_JSET | BPF_K => branch(insn, next, a & insn.k != 0),
            c if c == BPF_RET | BPF_K => return insn.k,
            c => panic!("unsupported instruction {c:#06x} at {pc}"),
        };
        let jumped = insn.code & 0x07 == BPF_JMP;
        assert!(!jumped || pc < prog.len(), "jump past the end of the program to {pc}");
    }
}

fn load(data: &[u8; 64], k: u32) -> u32 {
    let off = k as usize;
    assert!(off % 4 == 0 && off + 4 <= data.len(), "bad load offset {k}");
    u32::from_le_bytes([data[off], data[off + 1], data[off + 2], data[off + 3]])
}

fn branch(insn: &Insn, next: usize, taken: bool) -> usize {
    next + usize::from(if taken { insn.jt } else { insn.jf })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(code: u16, k: u32) -> Insn {
        Insn { code, jt: 0, jf: 0, k }
    }
    fn jmp(op: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn { code: BPF_JMP | op | BPF_K, jt, jf, k }
    }
    fn ld(k: u32) -> Insn {
        stmt(BPF_LD | BPF_W | BPF_ABS, k)
    }
    fn ret(k: u32) -> Insn {
        stmt(BPF_RET | BPF_K, k)
    }

    fn data() -> Data {
        Data { nr: 7, arch: 0xc000_003e, ip: 0x1122_3344_5566_7788, args: [0x1_0000_0002, 3, 4, 5, 6, u64::MAX] }
    }

    /// `op k` on A = `a` (loaded from nr): 1 if taken, 2 if not.
    fn cond(op: u16, a: u32, k: u32) -> u32 {
        let prog = [ld(0), jmp(op, k, 0, 1), ret(1), ret(2)];
        run(&prog, &Data { nr: a, ..data() })
    }

    #[test]
    fn ret_returns_k() {
        assert_eq!(run(&[ret(0x7fff_0000)], &data()), 0x7fff_0000);
    }

    #[test]
    fn loads_every_field_little_endian() {
        let d = data();
        for (off, want) in [(0, 7), (4, 0xc000_003e), (8, 0x5566_7788), (12, 0x1122_3344), (16, 2), (20, 1), (24, 3)] {
            let prog = [ld(off), jmp(BPF_JEQ, want, 0, 1), ret(1), ret(0)];
            assert_eq!(run(&prog, &d), 1, "offset {off}");
        }
        let prog = [ld(60), jmp(BPF_JEQ, u32::MAX, 0, 1), ret(1), ret(0)];
        assert_eq!(run(&prog, &d), 1);
    }

    #[test]
    #[should_panic(expected = "bad load offset")]
    fn load_past_the_data_panics() {
        run(&[ld(64), ret(0)], &data());
    }

    #[test]
    #[should_panic(expected = "bad load offset")]
    fn misaligned_load_panics() {
        run(&[ld(2), ret(0)], &data());
    }

    #[test]
    fn and_masks_the_accumulator() {
        let prog = [ld(0), stmt(BPF_ALU | BPF_AND | BPF_K, 0b110), jmp(BPF_JEQ, 0b110, 0, 1), ret(1), ret(2)];
        assert_eq!(run(&prog, &Data { nr: 0b1110, ..data() }), 1);
        assert_eq!(run(&prog, &Data { nr: 0b1010, ..data() }), 2);
    }

    #[test]
    fn ja_skips_k_instructions() {
        let prog = [stmt(BPF_JMP | BPF_JA, 2), ret(1), ret(2), ret(3)];
        assert_eq!(run(&prog, &data()), 3);
        let prog = [stmt(BPF_JMP | BPF_JA, 0), ret(1)];
        assert_eq!(run(&prog, &data()), 1);
    }

    #[test]
    fn conditional_jumps_compare_unsigned() {
        assert_eq!((cond(BPF_JEQ, 5, 5), cond(BPF_JEQ, 5, 6)), (1, 2));
        assert_eq!((cond(BPF_JGT, 6, 5), cond(BPF_JGT, 5, 5), cond(BPF_JGT, u32::MAX, 1)), (1, 2, 1));
        assert_eq!((cond(BPF_JGE, 5, 5), cond(BPF_JGE, 4, 5), cond(BPF_JGE, 0, 1)), (1, 2, 2));
        assert_eq!((cond(BPF_JSET, 0b100, 0b110), cond(BPF_JSET, 0b001, 0b110)), (1, 2));
    }

    #[test]
    fn jump_offsets_count_from_the_next_instruction() {
        let prog = [ld(0), jmp(BPF_JEQ, 7, 2, 1), ret(1), ret(2), ret(3)];
        assert_eq!(run(&prog, &data()), 3);
        assert_eq!(run(&prog, &Data { nr: 8, ..data() }), 2);
    }

    #[test]
    #[should_panic(expected = "jump past the end")]
    fn jump_past_the_end_panics() {
        run(&[ld(0), jmp(BPF_JEQ, 7, 1, 0), ret(1)], &data());
    }

    #[test]
    #[should_panic(expected = "jump past the end")]
    fn ja_past_the_end_panics() {
        run(&[stmt(BPF_JMP | BPF_JA, 1), ret(1)], &data());
    }

    #[test]
    #[should_panic(expected = "fell off the end")]
    fn falling_off_the_end_panics() {
        run(&[ld(0)], &data());
    }

    #[test]
    #[should_panic(expected = "unsupported instruction")]
    fn other_instructions_panic() {
        const BPF_ADD: u16 = 0x00;
        run(&[stmt(BPF_ALU | BPF_ADD | BPF_K, 1), ret(0)], &data());
    }

    #[test]
    #[should_panic(expected = "unsupported instruction")]
    fn jumps_on_x_panic() {
        run(&[Insn { code: BPF_JMP | BPF_JEQ | 0x08, jt: 0, jf: 0, k: 0 }, ret(0)], &data());
    }

    #[test]
    #[should_panic(expected = "program length")]
    fn empty_program_panics() {
        run(&[], &data());
    }
}
