// The toss part of the simulator: registers its handler with registerSimHandler (see index.ts).
export {};
