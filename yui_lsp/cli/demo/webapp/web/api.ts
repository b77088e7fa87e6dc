// Thin client for the webapp backend.

export interface User {
  userId: number;
  name: string;
  email: string;
}

export async function getUser(userId: number): Promise<User> {
  const response = await fetch(`/users/${userId}`);
  if (!response.ok) {
    throw new Error(`user ${userId}: HTTP ${response.status}`);
  }
  return (await response.json()) as User;
}
