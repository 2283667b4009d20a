/** Toasts (Mantine notifications): every API error is shown, never swallowed. */
import { notifications } from '@mantine/notifications';
import { ApiError } from '../api/client';

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function notifyError(err: unknown, title = 'Something went wrong'): void {
  notifications.show({ color: 'red', title, message: errorMessage(err), autoClose: 8000 });
}

export function notifySuccess(message: string, title?: string): void {
  notifications.show({ color: 'green', message, ...(title !== undefined ? { title } : {}), autoClose: 4000 });
}
