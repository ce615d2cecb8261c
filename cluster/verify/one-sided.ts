/**
 * Which outcomes of a group of probes only one side can produce, confirmed by a
 * second, fresh draw of the group.
 *
 * An outcome one side showed and the other never did, even when asked again, is a
 * disagreement only if the same side shows it again in a fresh draw of the group
 * (and the other side does not show it there either). A real difference — a rule
 * broken on one side, a route missing — shows in every draw that picks the affected
 * backend; a one-off does not repeat on demand. The one caught (docker host-gw, node01,
 * once in 9 runs of the node): the kernel's packet kept the probe's own source port
 * where a masquerade with --random-fully draws one — which it does by chance one in
 * 65 536 times per probe, on either side, and which the bytes cannot tell from no NAT.
 * A packet late beyond every wait on a loaded machine would be another.
 * An outcome seen only in the second draw is seen once and is not confirmed either.
 */

/** The outcome signatures of one draw of a group, per side. */
export interface Draw {
  readonly emu: readonly string[];
  readonly kernel: readonly string[];
}

/** Outcomes each side showed when asked again (askAgain in verify.ts). */
export interface AskedAgain {
  readonly emu: ReadonlySet<string>;
  readonly kernel: ReadonlySet<string>;
}

export interface OneSided {
  /** Kernel outcomes of the first draw the emulator never produced, shown again by the kernel in the second draw. */
  readonly kernelOnly: ReadonlySet<string>;
  /** Emulator outcomes of the first draw the kernel never produced, shown again by the emulator in the second draw. */
  readonly emuOnly: ReadonlySet<string>;
  /** One-sided outcomes of the first draw that the second draw did not show again: not counted. */
  readonly unconfirmed: ReadonlySet<string>;
}

/**
 * The confirmed one-sided outcomes of a group. Without a second draw (none was made)
 * every one-sided outcome of the first counts, as before there were second draws.
 */
export function oneSidedOutcomes(first: Draw, asked: AskedAgain, second?: Draw): OneSided {
  const emuPossible = new Set([...first.emu, ...asked.emu, ...(second?.emu ?? [])]);
  const kernelPossible = new Set([...first.kernel, ...asked.kernel, ...(second?.kernel ?? [])]);
  const again = (side: readonly string[] | undefined, o: string): boolean => side === undefined || side.includes(o);
  const kernelOnly = new Set<string>();
  const emuOnly = new Set<string>();
  const unconfirmed = new Set<string>();
  for (const o of new Set(first.kernel)) {
    if (emuPossible.has(o)) continue;
    (again(second?.kernel, o) ? kernelOnly : unconfirmed).add(o);
  }
  for (const o of new Set(first.emu)) {
    if (kernelPossible.has(o)) continue;
    (again(second?.emu, o) ? emuOnly : unconfirmed).add(o);
  }
  return { kernelOnly, emuOnly, unconfirmed };
}

/**
 * One client of a ClientIP-sticky Service whose first draw showed more than one outcome
 * on a side: the outcome each side kept, when a second draw by the same client (fresh
 * source ports, the affinity state left as it was) shows one outcome a side, and that
 * outcome is what the side showed for most of the first draw. Undefined when affinity
 * breaks again or the kept outcome moved — a broken `-m recent` rule picks again on
 * every probe, so eight probes over two backends agree by chance once in 128.
 */
export function keptInSecondDraw(first: Draw, second: Draw): { readonly emu: string; readonly kernel: string } | undefined {
  const emu = onlyOutcome(second.emu);
  const kernel = onlyOutcome(second.kernel);
  if (emu === undefined || kernel === undefined) return undefined;
  return mostOf(first.emu, emu) && mostOf(first.kernel, kernel) ? { emu, kernel } : undefined;
}

function onlyOutcome(draw: readonly string[]): string | undefined {
  return draw.length > 0 && draw.every((o) => o === draw[0]) ? draw[0] : undefined;
}

/** Whether `o` is more than half of `draw`. */
function mostOf(draw: readonly string[], o: string): boolean {
  return 2 * draw.filter((x) => x === o).length > draw.length;
}
