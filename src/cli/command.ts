/** One CLI command; registered in the COMMANDS table in main.ts. */
export interface Command {
  name: string;
  usage: string;
  summary: string;
  run(args: string[]): Promise<number | void>;
}
