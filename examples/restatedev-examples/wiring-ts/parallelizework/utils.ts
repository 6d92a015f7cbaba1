import { Context } from "@restatedev/restate-sdk";
import { world } from "../world";

export interface Task {
  description: string;
}

export interface SubTask {
  description: string;
}

export interface SubTaskResult {
  description: string;
}

export interface Result {
  description: string;
}

export function split(task: Task): SubTask[] {
  // Split the task into subTasks
  const subtaskDescriptions = task.description.split(",");

  const subTasks: SubTask[] = [];
  for (const description of subtaskDescriptions) {
    subTasks.push({ description } as SubTask);
  }

  return subTasks;
}

export async function executeSubtask(ctx: Context, subtask: SubTask): Promise<SubTaskResult> {
  // Execute subtask
  ctx.console.info(`Started executing subtask: ${subtask.description}`);
  // Sleep for a random amount between 0 and 10 seconds
  await ctx.sleep({ seconds: Math.floor(ctx.rand.random() * 5) });
  ctx.console.info(`Execution subtask finished: ${subtask.description}`);
  // wired to the harness's world (the example's work has no effect of its own): the subtask
  // recorded as an event keyed by its description ("<job>:<index>"), value 1
  const key = subtask.description;
  await ctx.run("record", () => world("event", { key, idem: key, amount: 1 }));
  return { description: `${subtask.description}: DONE` };
}

export function aggregate(ctx: Context, subResults: SubTaskResult[]): Result {
  // Aggregate the results
  const descriptions = subResults.map((subResult) => subResult.description);
  const resultDescription = descriptions.join(",");
  ctx.console.info(`Aggregated result: ${resultDescription}`);
  return { description: resultDescription };
}
