import type { ClientService, ClientView } from '../clients/client-service.ts';
import type { WebhookEventInput } from './webhook-dispatcher.ts';

const who = (c: ClientView) => ({ uuid: c.uuid, display_name: c.display_name });

/**
 * Turns the client service's lifecycle events into activity events (durable webhooks and the
 * live view: ActivityRecorder.emit). Returns a function that detaches the listeners.
 */
export function forwardClientEvents(
  clients: ClientService,
  activity: { emit(event: WebhookEventInput): void },
): () => void {
  const onConnected: Parameters<typeof clients.on<'connected'>>[1] = ({ client }) => {
    activity.emit({
      event: 'client.connected',
      client: who(client),
      data: {
        hostname: client.hostname ?? null,
        platform: client.platform ?? null,
        username: client.username ?? null,
        client_id: client.client_id ?? null,
        connection_count: client.connection_count,
      },
    });
  };
  const onDisconnected: Parameters<typeof clients.on<'disconnected'>>[1] = ({ client, reason }) => {
    activity.emit({
      event: 'client.disconnected',
      client: who(client),
      data: { reason, last_seen: client.last_seen },
    });
  };
  const onUnhealthy: Parameters<typeof clients.on<'unhealthy'>>[1] = ({ client, failures }) => {
    activity.emit({
      event: 'client.unhealthy',
      client: who(client),
      data: { failed_heartbeats: failures },
    });
  };
  const onKeyMismatch: Parameters<typeof clients.on<'key_mismatch'>>[1] = (e) => {
    activity.emit({
      event: 'client.key_mismatch',
      client: who(e.client),
      data: { fingerprint: e.fingerprint, expected_fingerprint: e.expected_fingerprint },
    });
  };
  clients.on('connected', onConnected);
  clients.on('disconnected', onDisconnected);
  clients.on('unhealthy', onUnhealthy);
  clients.on('key_mismatch', onKeyMismatch);
  return () => {
    clients.off('connected', onConnected);
    clients.off('disconnected', onDisconnected);
    clients.off('unhealthy', onUnhealthy);
    clients.off('key_mismatch', onKeyMismatch);
  };
}
