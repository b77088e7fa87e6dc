// The profile page header.

import { getUser } from "./api";

export async function profileTitle(userId: number): Promise<string> {
  const user = await getUser(userId);
  // TODO: show the avatar next to the name.
  return `${user.name} <${user.email}>`;
}
