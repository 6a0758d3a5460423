/** The sandbox's built-in flavors: the classic m1 set devstack creates. */
export interface SandboxFlavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  ephemeral: number;
  swap: number;
  rxtxFactor: number;
  isPublic: boolean;
  disabled: boolean;
  description: string | null;
  extraSpecs: Record<string, string>;
}

const m1 = (id: string, name: string, vcpus: number, ram: number, disk: number): SandboxFlavor => ({
  id, name, vcpus, ram, disk, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, disabled: false,
  description: null, extraSpecs: {},
});

export const BUILTIN_FLAVORS: readonly SandboxFlavor[] = [
  m1('1', 'm1.tiny', 1, 512, 1),
  m1('2', 'm1.small', 1, 2048, 20),
  m1('3', 'm1.medium', 2, 4096, 40),
  m1('4', 'm1.large', 4, 8192, 80),
  m1('5', 'm1.xlarge', 8, 16384, 160),
  m1('42', 'm1.nano', 1, 128, 1),
  m1('84', 'm1.micro', 1, 192, 1),
];
